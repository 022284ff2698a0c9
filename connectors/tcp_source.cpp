#include "connectors/tcp_source.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

tcp_source::tcp_source(tcp_source_config cfg, connector_context ctx)
    : cfg_(std::move(cfg)), ctx_(std::move(ctx)) {}

tcp_source::~tcp_source() {
  close();
}

caf::error tcp_source::open() {
  auto where = cfg_.bind + ":" + std::to_string(cfg_.port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(cfg_.port);
  if (::inet_pton(AF_INET, cfg_.bind.c_str(), &addr.sin_addr) != 1)
    return make_error(connector_errc::bad_input,
                      "tcp source: '" + cfg_.bind + "' is not an IPv4 address");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    return make_error(connector_errc::io_error,
                      std::string{"socket: "} + std::strerror(errno));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
          0 ||
      ::listen(listen_fd_, 128) != 0) {
    auto err =
        make_error(connector_errc::io_error,
                   "cannot listen on " + where + ": " + std::strerror(errno));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return err;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  log().info("source {}: listening on {}:{}", ctx_.name, cfg_.bind, port_);
  return {};
}

void tcp_source::accept_all() {
  while (static_cast<int64_t>(conns_.size()) < cfg_.max_connections) {
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    auto c =
        std::make_unique<connection>(static_cast<size_t>(cfg_.max_line_length));
    c->fd = fd;
    c->id = next_id_++;
    char host[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
    c->peer = std::string{host} + ":" + std::to_string(ntohs(addr.sin_port));
    c->last_read = std::chrono::steady_clock::now();
    ack_fds_[c->id] = fd;
    conns_.push_back(std::move(c));
  }
  // Full: a connection waiting to be accepted stays in the listen backlog
  // (its lines wait in the kernel) until a connection closes.
  if (full_reported_)
    return;
  pollfd waiting{listen_fd_, POLLIN, 0};
  if (::poll(&waiting, 1, 0) == 1 && (waiting.revents & POLLIN) != 0) {
    full_reported_ = true;
    if (cfg_.idle_timeout_ms > 0)
      log().warn("source {}: max_connections {} reached; new connections wait "
                 "in the listen backlog until one closes or has sent nothing "
                 "for idle_timeout ({} ms)",
                 ctx_.name, cfg_.max_connections, cfg_.idle_timeout_ms);
    else
      log().warn("source {}: max_connections {} reached; new connections wait "
                 "in the listen backlog until one closes (idle_timeout is "
                 "off)",
                 ctx_.name, cfg_.max_connections);
  }
}

bool tcp_source::owes_ack(uint64_t id) const {
  for (auto& [_, counts] : sealed_)
    if (counts.count(id) > 0)
      return true;
  return false;
}

void tcp_source::end_idle() {
  if (cfg_.idle_timeout_ms <= 0)
    return;
  auto now = std::chrono::steady_clock::now();
  auto timeout = std::chrono::milliseconds{cfg_.idle_timeout_ms};
  for (auto& c : conns_) {
    if (c->eof || now - c->last_read < timeout || (cfg_.ack && owes_ack(c->id)))
      continue;
    // A poll that stopped at max_events may not have read it: look first.
    char byte;
    auto n = ::recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
      c->last_read = now;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      c->eof = true; // closed by the client: the usual path
      continue;
    }
    log().info("source {}: closing the connection from {}: nothing received "
               "for {} ms (idle_timeout)",
               ctx_.name, c->peer, cfg_.idle_timeout_ms);
    ctx_.metrics->idle_closed.fetch_add(1, std::memory_order_relaxed);
    c->eof = true;
  }
}

void tcp_source::close_connection(size_t index) {
  auto& c = conns_[index];
  // Keep the socket for acks still owed; `commit` closes it.
  if (!cfg_.ack || c->unsealed == 0) {
    if (!cfg_.ack || !owes_ack(c->id)) {
      ack_fds_.erase(c->id);
      ::close(c->fd);
    }
  }
  conns_.erase(conns_.begin() + static_cast<ptrdiff_t>(index));
  if (static_cast<int64_t>(conns_.size()) < cfg_.max_connections)
    full_reported_ = false;
}

caf::expected<poll_status> tcp_source::poll(batch_builder& out,
                                            size_t max_events) {
  accept_all();
  size_t emitted = 0;
  bool pending = false;
  auto n = conns_.size();
  for (size_t k = 0; k < n && emitted < max_events; ++k) {
    auto& c = *conns_[(next_conn_ + k) % n];
    std::string_view line;
    while (emitted < max_events) {
      if (c.lines.next(line)) {
        out.append(line);
        ++emitted;
        ++c.unsealed;
        continue;
      }
      if (c.eof)
        break;
      auto r = c.lines.fill(c.fd);
      if (r > 0)
        c.last_read = std::chrono::steady_clock::now();
      if (r == 0) {
        c.eof = true;
      } else if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          c.eof = true;
        break;
      }
    }
    if (auto cut = c.lines.cut_lines(); cut > c.cut_counted) {
      ctx_.metrics->errors.fetch_add(cut - c.cut_counted,
                                     std::memory_order_relaxed);
      c.cut_counted = cut;
    }
    if (c.eof && emitted < max_events) {
      if (auto last = c.lines.rest(); !last.empty()) {
        out.append(last);
        ++emitted;
        ++c.unsealed;
      }
    }
    pending = pending || c.lines.buffered() > 0;
  }
  if (n > 0)
    next_conn_ = (next_conn_ + 1) % n;
  end_idle();
  // Sealing happens after this poll; remember finished connections until
  // then by closing them only when they hold nothing unsealed.
  for (size_t i = conns_.size(); i > 0; --i)
    if (conns_[i - 1]->eof && conns_[i - 1]->lines.buffered() == 0 &&
        conns_[i - 1]->unsealed == 0)
      close_connection(i - 1);
  if (emitted >= max_events || pending)
    return poll_status::more;
  return poll_status::idle;
}

void tcp_source::seal(uint64_t seq) {
  std::map<uint64_t, uint64_t> counts;
  for (auto& c : conns_) {
    if (c->unsealed > 0)
      counts[c->id] = c->unsealed;
    c->unsealed = 0;
  }
  if (cfg_.ack)
    sealed_.emplace_back(seq, std::move(counts));
}

caf::error tcp_source::commit(uint64_t seq) {
  std::map<uint64_t, uint64_t> total;
  while (!sealed_.empty() && sealed_.front().first <= seq) {
    for (auto& [id, n] : sealed_.front().second)
      total[id] += n;
    sealed_.pop_front();
  }
  for (auto& [id, n] : total) {
    auto i = ack_fds_.find(id);
    if (i == ack_fds_.end())
      continue;
    auto msg = "OK " + std::to_string(n) + "\n";
    if (::send(i->second, msg.data(), msg.size(), MSG_NOSIGNAL) < 0)
      log().debug("source {}: cannot ack a connection: {}", ctx_.name,
                  std::strerror(errno));
    // A connection that is gone and owes nothing more can close now.
    bool open = false;
    for (auto& c : conns_)
      open = open || c->id == id;
    if (!open && !owes_ack(id)) {
      ::close(i->second);
      ack_fds_.erase(i);
    }
  }
  return {};
}

void tcp_source::close() {
  for (auto& c : conns_)
    ack_fds_[c->id] = c->fd;
  conns_.clear();
  for (auto& [_, fd] : ack_fds_)
    ::close(fd);
  ack_fds_.clear();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
  listen_fd_ = -1;
}

source_type tcp_source_type() {
  source_type t;
  t.name = "tcp";
  t.help = "accepts TCP connections and reads lines";
  t.options = {
      {"bind", option_type::string, "IPv4 address to listen on", false,
       option_value{std::string{"127.0.0.1"}}},
      {"port", option_type::integer, "TCP port (0 = any free port)", true,
       std::nullopt, 0, 65535},
      {"max_line_length", option_type::bytes, "longer lines are cut", false,
       option_value{int64_t{512}}, 16, int64_t{64} << 20},
      {"ack", option_type::boolean, "answer OK <n> after commits", false,
       option_value{false}},
      {"max_connections", option_type::integer,
       "open connections; more wait in the listen backlog", false,
       option_value{int64_t{64}}, 1},
      {"idle_timeout", option_type::duration,
       "close a connection that sent nothing for this long (0 = never)", false,
       option_value{int64_t{300'000}}, 0},
  };
  t.make = [](const connector_context& ctx,
              const options& opts) -> caf::expected<source_connector_ptr> {
    tcp_source_config cfg;
    cfg.bind = opts.get_string("bind");
    in_addr addr{};
    if (::inet_pton(AF_INET, cfg.bind.c_str(), &addr) != 1)
      return make_error(config_errc::invalid,
                        "bind '" + cfg.bind +
                            "' is not an IPv4 address (like 127.0.0.1)");
    cfg.port = static_cast<uint16_t>(opts.get_int("port"));
    cfg.max_line_length = opts.get_int("max_line_length");
    cfg.ack = opts.get_bool("ack");
    cfg.max_connections = opts.get_int("max_connections");
    cfg.idle_timeout_ms = opts.get_int("idle_timeout");
    return source_connector_ptr{
        std::make_unique<tcp_source>(std::move(cfg), ctx)};
  };
  return t;
}

} // namespace sluice

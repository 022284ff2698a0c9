#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/line_buffer.hpp"
#include "connectors/source_connector.hpp"

namespace sluice {

/// Settings of the TCP line source.
struct tcp_source_config {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;
  int64_t max_line_length = 512;
  bool ack = false;
  int64_t max_connections = 64;
  /// A connection that sent nothing for this long is closed (0 = never).
  int64_t idle_timeout_ms = 300'000;
};

/// Accepts TCP connections and emits each line received as an event (like
/// Flume's netcat source). With `ack`, a connection is told `OK <n>\n` once
/// the channel has committed n more of its lines. At `max_connections`, new
/// connections are left in the listen backlog until one closes; one that
/// sent nothing for `idle_timeout` (and is owed no ack) is closed, its
/// unfinished last line emitted.
class tcp_source : public source_connector {
 public:
  tcp_source(tcp_source_config cfg, connector_context ctx);
  ~tcp_source() override;

  caf::error open() override;
  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override;
  void seal(uint64_t seq) override;
  caf::error commit(uint64_t seq) override;
  void close() override;

  /// The port listened on (useful with port 0).
  uint16_t port() const noexcept { return port_; }

 private:
  struct connection {
    int fd = -1;
    uint64_t id = 0;
    line_buffer lines;
    size_t cut_counted = 0;
    uint64_t unsealed = 0; ///< lines emitted since the last seal
    bool eof = false;
    std::string peer; ///< address:port, for messages
    std::chrono::steady_clock::time_point last_read;
    explicit connection(size_t max) : lines(max) {}
  };

  void accept_all();
  /// Ends the connections idle for `idle_timeout_ms` (their last line is
  /// emitted and they close like one the client closed).
  void end_idle();
  bool owes_ack(uint64_t id) const;
  void close_connection(size_t index);

  tcp_source_config cfg_;
  connector_context ctx_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  uint64_t next_id_ = 1;
  size_t next_conn_ = 0;
  bool full_reported_ = false; ///< "max_connections reached" was logged
  std::vector<std::unique_ptr<connection>> conns_;
  /// Per sealed batch: lines per connection id, for acks.
  std::deque<std::pair<uint64_t, std::map<uint64_t, uint64_t>>> sealed_;
  std::map<uint64_t, int> ack_fds_; ///< connection id -> fd, while open
};

} // namespace sluice

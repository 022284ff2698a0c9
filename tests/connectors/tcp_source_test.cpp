#include "connectors/tcp_source.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "connectors/line_buffer.hpp"
#include "engine/engine.hpp"
#include "runtime/errors.hpp"
#include "tests/connectors/connector_test_helpers.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

source_connector_ptr make_tcp(const connector_context& ctx, options o = {}) {
  if (!o.contains("port"))
    o.set("port", int64_t{0});
  auto c = test::make_source(tcp_source_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

/// A blocking TCP client with a receive timeout.
class client {
 public:
  /// Connects; with `must`, a failure fails the test, otherwise
  /// `connected()` tells.
  explicit client(uint16_t port, bool must = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{30, 0}; // passing tests never wait for it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) == 1);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (must)
      REQUIRE(connected_);
  }

  bool connected() const noexcept { return connected_; }

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  ~client() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  void send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      auto n =
          ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      done += static_cast<size_t>(n);
    }
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  /// Reads until a newline, end of stream or the timeout.
  std::string read_line() {
    std::string result;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      result += c;
      if (c == '\n')
        break;
    }
    return result;
  }

  /// True when the peer closed the connection (reads EOF in time).
  bool at_eof() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

} // namespace

SCENARIO("the tcp source emits the lines clients send", "[tcp]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source on port 0 with max_line_length 16") {
    options o;
    o.set("max_line_length", int64_t{16});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    REQUIRE(port != 0);
    WHEN("a client sends LF and CRLF lines and one over-long line") {
      client cl{port};
      cl.send("one\ntwo\r\n");
      cl.send(std::string(40, 'x') + "\n");
      cl.send("three\n");
      auto r = test::drain_n(*src, 4);
      THEN("the source yields them in order with the long one cut") {
        CHECK(!r.failed);
        CHECK(r.lines == std::vector<std::string>{
                             "one", "two", std::string(16, 'x'), "three"});
        CHECK(ctx.metrics->errors == 1);
      }
    }
    WHEN("a client sends a last line without newline and disconnects") {
      {
        client cl{port};
        cl.send("first\nlast");
      }
      auto r = test::drain_n(*src, 2);
      THEN("the last line is emitted too") {
        CHECK(r.lines == std::vector<std::string>{"first", "last"});
      }
    }
    WHEN("two clients send lines") {
      client a{port};
      client b{port};
      a.send("a1\na2\n");
      b.send("b1\nb2\n");
      auto r = test::drain_n(*src, 4);
      THEN("every line of each arrives, in order per client") {
        REQUIRE(r.lines.size() == 4);
        std::vector<std::string> from_a;
        std::vector<std::string> from_b;
        for (auto& x : r.lines)
          (x[0] == 'a' ? from_a : from_b).push_back(x);
        CHECK(from_a == std::vector<std::string>{"a1", "a2"});
        CHECK(from_b == std::vector<std::string>{"b1", "b2"});
      }
    }
    src->close();
  }
}

SCENARIO("the tcp source acknowledges committed lines", "[tcp]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source with ack = true") {
    options o;
    o.set("ack", true);
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    WHEN("a client sends three lines that are sealed and committed") {
      client cl{port};
      cl.send("a\nb\nc\n");
      auto r = test::drain_n(*src, 3);
      REQUIRE(r.lines.size() == 3);
      src->seal(1);
      REQUIRE(!src->commit(1));
      THEN("the client reads OK 3") {
        CHECK(cl.read_line() == "OK 3\n");
      }
      AND_WHEN("it sends two more lines in two batches") {
        cl.send("d\n");
        REQUIRE(test::drain_n(*src, 1).lines.size() == 1);
        src->seal(2);
        cl.send("e\n");
        REQUIRE(test::drain_n(*src, 1).lines.size() == 1);
        src->seal(3);
        REQUIRE(!src->commit(3));
        THEN("one commit of both batches acks them together") {
          CHECK(cl.read_line() == "OK 3\n");
          CHECK(cl.read_line() == "OK 2\n");
        }
      }
    }
    WHEN("a client sends lines and shuts down its side before the commit") {
      client cl{port};
      cl.send("x\ny\n");
      cl.shutdown_write();
      auto r = test::drain_n(*src, 2);
      REQUIRE(r.lines.size() == 2);
      src->seal(1);
      // A poll after the seal lets the source notice the closed connection.
      test::drain(
          *src, [](const std::vector<std::string>&) { return false; }, 16,
          50ms);
      REQUIRE(!src->commit(1));
      THEN("it still gets its ack, then the connection closes") {
        CHECK(cl.read_line() == "OK 2\n");
        CHECK(cl.at_eof());
      }
    }
    WHEN("a batch is sealed but not committed") {
      client cl{port};
      cl.send("p\n");
      REQUIRE(test::drain_n(*src, 1).lines.size() == 1);
      src->seal(1);
      REQUIRE(!src->commit(0));
      THEN("no ack is sent yet") {
        src->close();
        // Closing drops the connection without an ack.
        CHECK(cl.read_line().empty());
      }
    }
    src->close();
  }
}

SCENARIO("the tcp source reports a port in use", "[tcp]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source listening on some port") {
    auto first = make_tcp(ctx);
    REQUIRE(!first->open());
    auto port = dynamic_cast<tcp_source&>(*first).port();
    WHEN("a second source binds the same port") {
      options o;
      o.set("port", int64_t{port});
      auto second = make_tcp(ctx, o);
      auto err = second->open();
      THEN("it fails with an error naming the port") {
        REQUIRE(err);
        auto text = describe(err);
        CHECK_THAT(text, Catch::Contains(std::to_string(port)));
      }
      second->close();
    }
    first->close();
  }
  GIVEN("a bind address that is not IPv4") {
    options o;
    o.set("bind", std::string{"not-an-address"});
    o.set("port", int64_t{0});
    THEN("building it fails naming it, before anything opens") {
      auto made = test::make_source(tcp_source_type(), ctx, std::move(o));
      REQUIRE(!made);
      CHECK_THAT(describe(made.error()), Catch::Contains("not-an-address"));
    }
  }
}

SCENARIO("a line of exactly max_line_length is not counted as cut", "[tcp]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source with max_line_length 16") {
    options o;
    o.set("max_line_length", int64_t{16});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    WHEN("a 16-byte line arrives before its newline") {
      client cl{port};
      cl.send("0123456789abcdef");
      auto first = test::drain(
          *src, [](const std::vector<std::string>&) { return false; }, 16,
          std::chrono::milliseconds{200});
      cl.send("\nnext\n");
      auto rest = test::drain_n(*src, 2 - first.lines.size());
      auto lines = first.lines;
      lines.insert(lines.end(), rest.lines.begin(), rest.lines.end());
      THEN("the line comes out whole and no error is counted") {
        CHECK(lines == std::vector<std::string>{"0123456789abcdef", "next"});
        CHECK(ctx.metrics->errors == 0);
      }
    }
    src->close();
  }
}

namespace {

/// A port that was free a moment ago.
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  REQUIRE(::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) == 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

} // namespace

SCENARIO("a connection whose every line an interceptor drops is acked and "
         "closed",
         "[pipeline][tcp_ack]") {
  auto port = free_port();
  topology_spec spec;
  source_spec src;
  src.name = "in";
  src.type = "tcp";
  src.channel = "ch";
  src.batch_size = 100;
  src.opts.set("port", int64_t{port});
  src.opts.set("ack", true);
  src.opts.set("max_connections", int64_t{1});
  interceptor_spec drop;
  drop.type = "regex_filter";
  drop.opts.set("regex", std::string{"^noise"});
  drop.opts.set("exclude", true);
  src.interceptors.push_back(drop);
  spec.sources.push_back(src);
  channel_spec ch;
  ch.name = "ch";
  ch.type = "memory";
  ch.opts.set("transaction_capacity", int64_t{100});
  spec.channels.push_back(ch);
  sink_spec snk;
  snk.name = "out";
  snk.type = "null";
  snk.channel = "ch";
  snk.batch_size = 100;
  spec.sinks.push_back(snk);
  auto eng = engine::make(spec, connector_registry::builtin());
  REQUIRE(eng);
  REQUIRE(!(*eng)->start());
  for (int round = 0; round < 2; ++round) {
    // With one connection allowed, the second round is served only if the
    // source closed the first.
    std::unique_ptr<client> c;
    for (int attempt = 0; attempt < 1500 && !c; ++attempt) {
      c = std::make_unique<client>(port, false);
      if (!c->connected()) {
        c.reset();
        std::this_thread::sleep_for(20ms);
      }
    }
    REQUIRE(c);
    c->send("noise 1\nnoise 2\nnoise 3\n");
    c->shutdown_write();
    CHECK(c->read_line() == "OK 3\n");
    CHECK(c->at_eof());
  }
  (*eng)->stop();
  REQUIRE(!(*eng)->wait());
  auto in = (*eng)->metrics().snapshot("in");
  CHECK(in.events_dropped == 6);
  CHECK(in.events_out == 0);
}

SCENARIO("a line buffer grows only as far as its longest line needs", "[tcp]") {
  line_buffer lb{size_t{64} << 20, 64 << 10};
  CHECK(lb.capacity() <= (size_t{128} << 10));
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::string line(300'000, 'x');
  line += '\n';
  std::thread writer{[&] {
    size_t done = 0;
    while (done < line.size()) {
      auto n = ::write(fds[1], line.data() + done, line.size() - done);
      if (n <= 0)
        break;
      done += static_cast<size_t>(n);
    }
    ::close(fds[1]);
  }};
  std::string_view got;
  bool found = false;
  while (!found) {
    if (lb.next(got)) {
      found = true;
      break;
    }
    if (lb.fill(fds[0]) <= 0)
      break;
  }
  writer.join();
  ::close(fds[0]);
  REQUIRE(found);
  CHECK(got.size() == 300'000);
  CHECK(lb.capacity() >= 300'001);
  CHECK(lb.capacity() < (size_t{2} << 20));
}

namespace {

/// Connects `n` clients that each send one line and then nothing; returns
/// once the source has read every line (so each holds a connection).
std::vector<std::unique_ptr<client>> idle_clients(source_connector& src,
                                                  uint16_t port, size_t n) {
  std::vector<std::unique_ptr<client>> result;
  for (size_t i = 0; i < n; ++i) {
    result.push_back(std::make_unique<client>(port));
    result.back()->send("hello " + std::to_string(i) + "\n");
  }
  auto r = test::drain_n(src, n);
  REQUIRE(r.lines.size() == n);
  src.seal(1);
  return result;
}

} // namespace

SCENARIO("idle connections are closed and free their place for waiting "
         "clients",
         "[tcp][idle]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source with max_connections 4 and idle_timeout 300ms") {
    options o;
    o.set("max_connections", int64_t{4});
    o.set("idle_timeout", int64_t{300});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    auto idle = idle_clients(*src, port, 4);
    WHEN("a fifth client connects and sends lines while the four are idle") {
      client late{port};
      late.send("late 1\nlate 2\n");
      auto r = test::drain_n(*src, 2);
      THEN("its lines arrive once the idle ones were closed for idleness") {
        CHECK(r.lines == std::vector<std::string>{"late 1", "late 2"});
        // Counted before the fifth was accepted: it waited for them.
        CHECK(ctx.metrics->idle_closed == 4);
        CHECK(ctx.metrics->errors == 0);
        for (auto& c : idle)
          CHECK(c->at_eof());
      }
    }
    src->close();
  }
  GIVEN("a client that sent half a line and went quiet") {
    options o;
    o.set("idle_timeout", int64_t{200});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    client cl{port};
    cl.send("partial");
    auto r = test::drain_n(*src, 1);
    THEN("the half line is emitted when its connection times out") {
      CHECK(r.lines == std::vector<std::string>{"partial"});
      src->seal(1);
      test::drain(
          *src, [](const std::vector<std::string>&) { return false; }, 16,
          50ms);
      CHECK(cl.at_eof());
      CHECK(ctx.metrics->idle_closed == 1);
    }
    src->close();
  }
  GIVEN("a client that sends a line every 20 ms, with idle_timeout 200ms") {
    options o;
    o.set("idle_timeout", int64_t{200});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    client cl{port};
    std::vector<std::string> got;
    for (int i = 0; i < 40; ++i) {
      cl.send("tick\n");
      auto r = test::drain_n(*src, 1);
      got.insert(got.end(), r.lines.begin(), r.lines.end());
      src->seal(static_cast<uint64_t>(i + 1));
      std::this_thread::sleep_for(20ms);
    }
    THEN("it is never closed: 800 ms of lines all arrive") {
      CHECK(got.size() == 40);
      CHECK(ctx.metrics->idle_closed == 0);
    }
    src->close();
  }
}

SCENARIO("at max_connections a new client waits in the listen backlog, "
         "losing nothing",
         "[tcp][idle]") {
  auto ctx = test::make_context("tcp");
  GIVEN("a tcp source with max_connections 1 and no idle timeout") {
    options o;
    o.set("max_connections", int64_t{1});
    o.set("idle_timeout", int64_t{0});
    auto src = make_tcp(ctx, o);
    REQUIRE(!src->open());
    auto port = dynamic_cast<tcp_source&>(*src).port();
    auto first = idle_clients(*src, port, 1);
    WHEN("a second client connects and sends while the first is open") {
      client second{port};
      second.send("waiting 1\nwaiting 2\n");
      auto early = test::drain(
          *src, [](const std::vector<std::string>&) { return false; }, 16,
          300ms);
      THEN("nothing of it is read while the first holds the place") {
        CHECK(early.lines.empty());
        CHECK(ctx.metrics->errors == 0);
      }
      AND_WHEN("the first client leaves") {
        first.clear();
        auto r = test::drain_n(*src, 2);
        THEN("the second's lines arrive, none lost") {
          CHECK(r.lines == std::vector<std::string>{"waiting 1", "waiting 2"});
        }
      }
    }
    src->close();
  }
}

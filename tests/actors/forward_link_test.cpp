// The forward link in one process: two engines (two actor systems, each
// with its middleman) on 127.0.0.1, and a raw peer that sends the same
// batches twice.
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "config/topology.hpp"
#include "connectors/registry.hpp"
#include "engine/engine.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_connectors.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

topology_spec
parse(const std::string& text,
      const connector_registry& registry = connector_registry::builtin()) {
  std::vector<diagnostic> problems;
  auto spec = parse_topology(text, "t.toml", registry, problems);
  for (auto& p : problems)
    UNSCOPED_INFO(to_string(p));
  REQUIRE(spec);
  return std::move(*spec);
}

std::unique_ptr<engine> start(const std::string& text) {
  auto eng = engine::make(parse(text), connector_registry::builtin(),
                          engine_options{2, 0, {}});
  REQUIRE(eng);
  auto err = (*eng)->start();
  INFO(describe(err));
  REQUIRE(!err);
  return std::move(*eng);
}

std::string receiver_topology(uint16_t port, const std::string& channel_dir,
                              const std::string& out_dir) {
  return fmt::format(
      R"([sources.link]
type = "forward"
channel = "inbox"
port = {port}

[channels.inbox]
type = "{type}"
{directory}

[sinks.out]
type = "file"
channel = "inbox"
directory = "{out}"
)",
      fmt::arg("port", port),
      fmt::arg("type", channel_dir.empty() ? "memory" : "file"),
      fmt::arg("directory", channel_dir.empty()
                                ? std::string{}
                                : "directory = \"" + channel_dir + "\""),
      fmt::arg("out", out_dir));
}

/// An actor system with a middleman, to talk to a forward source directly.
struct raw_peer {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor link;

  explicit raw_peer(uint16_t port) {
    register_types(cfg);
    configure_cluster(cfg, cluster_link_settings{});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.set("scheduler.max-threads", 2);
    sys = std::make_unique<caf::actor_system>(cfg);
    REQUIRE(eventually([&] {
      auto a = connect_actor_blocking(*sys, "127.0.0.1", port);
      if (a)
        link = *a;
      return static_cast<bool>(a);
    }));
  }

  ~raw_peer() { link = nullptr; }

  /// Sends one request and returns the duplicates the receiver reports.
  uint64_t send(const forward_request& req) {
    caf::scoped_actor self{*sys};
    uint64_t dups = 0;
    bool ok = false;
    self->request(link, 10s, forward_atom::value, req)
        .receive(
            [&](uint64_t n) {
              dups = n;
              ok = true;
            },
            [&](caf::error& err) { FAIL(sys->render(err)); });
    REQUIRE(ok);
    return dups;
  }
};

event_batch numbered(int first, int n) {
  event_batch b;
  for (int i = 0; i < n; ++i)
    b.append(fmt::format("event {:06}", first + i));
  return b;
}

forward_request request_of(const std::string& producer,
                           std::vector<std::pair<uint64_t, event_batch>> xs) {
  forward_request r;
  r.producer = producer;
  std::vector<event_batch> batches;
  for (auto& [seq, b] : xs) {
    r.seqs.push_back(seq);
    batches.push_back(b);
  }
  r.batches.ptr =
      std::make_shared<const std::vector<event_batch>>(std::move(batches));
  return r;
}

std::map<std::string, int> count_lines(const std::string& dir) {
  std::map<std::string, int> result;
  for (auto& line : sluice::test::read_lines_in(dir))
    ++result[line];
  return result;
}

} // namespace

SCENARIO("a forward link between two engines delivers every event once",
         "[forward]") {
  sluice::test::temp_dir dir;
  auto port = sluice::test::free_port();
  REQUIRE(port != 0);
  constexpr int count = 20'000;
  auto receiver = start(receiver_topology(port, "", dir / "out"));
  auto sender =
      start(fmt::format(R"([sources.gen]
type = "generator"
channel = "outbox"
count = {count}
line_size = 100
batch_size = 500

[channels.outbox]
type = "memory"
transaction_capacity = 1000

[sinks.link]
type = "forward"
channel = "outbox"
port = {port}
batch_size = 1000
)",
                        fmt::arg("count", count), fmt::arg("port", port)));
  WHEN("the generator's events cross the link") {
    REQUIRE(eventually([&] {
      return receiver->metrics().snapshot("out").events_out == count;
    }));
    THEN("the file holds each of them exactly once") {
      auto lines = count_lines(dir / "out");
      CHECK(lines.size() == count);
      for (auto& [line, n] : lines)
        REQUIRE(n == 1);
      CHECK(sender->metrics().snapshot("link").events_out == count);
      CHECK(receiver->metrics().snapshot("link").duplicates_dropped == 0);
      CHECK(sender->metrics().snapshot("link").errors == 0);
    }
  }
  sender->stop();
  CHECK(!sender->wait());
  receiver->stop();
  CHECK(!receiver->wait());
}

// One linear run: the restart at the end needs the sends before it.
TEST_CASE("a forward source drops a batch it already committed, counts it, "
          "and still knows it after a restart with its file channel",
          "[forward]") {
  sluice::test::temp_dir dir;
  auto port = sluice::test::free_port();
  REQUIRE(port != 0);
  auto text = receiver_topology(port, dir / "channel", dir / "out");
  auto receiver = start(text);
  auto b1 = numbered(0, 10), b2 = numbered(10, 20), b3 = numbered(30, 5);
  {
    raw_peer peer{port};
    // The same request twice: the second is answered as delivered, its
    // events dropped and counted.
    CHECK(peer.send(request_of("edge/outbox#7", {{1, b1}, {2, b2}})) == 0);
    CHECK(peer.send(request_of("edge/outbox#7", {{1, b1}, {2, b2}})) == 30);
    CHECK(receiver->metrics().snapshot("link").duplicates_dropped == 30);
    // A request that overlaps what was committed: only the new batch goes in.
    CHECK(peer.send(request_of("edge/outbox#7", {{2, b2}, {3, b3}})) == 20);
    CHECK(receiver->metrics().snapshot("link").duplicates_dropped == 50);
    CHECK(receiver->metrics().snapshot("inbox").events_in == 35);
    // Another producer's sequence numbers are its own.
    CHECK(peer.send(request_of("edge/outbox#8", {{1, numbered(40, 3)}})) == 0);
    CHECK(receiver->metrics().snapshot("inbox").events_in == 38);
  }
  REQUIRE(eventually(
      [&] { return receiver->metrics().snapshot("out").events_out == 38; }));
  receiver->stop();
  REQUIRE(!receiver->wait());
  receiver.reset();
  // The receiving node restarts with its file channel: it still knows what
  // it committed before.
  auto again = start(text);
  {
    raw_peer peer{port};
    CHECK(peer.send(request_of("edge/outbox#7", {{1, b1}, {2, b2}})) == 30);
    CHECK(again->metrics().snapshot("link").duplicates_dropped == 30);
    CHECK(again->metrics().snapshot("inbox").events_in == 0);
    CHECK(peer.send(request_of("edge/outbox#7", {{4, numbered(50, 2)}})) == 0);
  }
  REQUIRE(eventually(
      [&] { return again->metrics().snapshot("out").events_out == 2; }));
  again->stop();
  CHECK(!again->wait());
  auto lines = count_lines(dir / "out");
  CHECK(lines.size() == 40);
  for (auto& [line, n] : lines)
    CHECK(n == 1);
}

SCENARIO("a node answers a ping on its control port with its name",
         "[cluster]") {
  auto port = sluice::test::free_port();
  REQUIRE(port != 0);
  auto eng = start(fmt::format(R"([nodes.solo]
port = {}

[sources.gen]
node = "solo"
type = "generator"
channel = "c"
rate = 10

[channels.c]
node = "solo"
type = "memory"

[sinks.s]
node = "solo"
type = "null"
channel = "c"
)",
                               port));
  raw_peer peer{port};
  caf::scoped_actor self{*peer.sys};
  std::string name;
  self->request(peer.link, 5s, ping_atom::value)
      .receive([&](std::string& x) { name = x; },
               [&](caf::error& err) { FAIL(peer.sys->render(err)); });
  CHECK(name == "solo");
  eng->stop();
  CHECK(!eng->wait());
}

SCENARIO("a forward sink's health probe asks its peer", "[forward]") {
  sluice::test::temp_dir dir;
  auto port = sluice::test::free_port();
  REQUIRE(port != 0);
  auto receiver = start(receiver_topology(port, "", dir / "out"));
  auto sender = start(fmt::format(R"([sources.gen]
type = "generator"
channel = "outbox"
rate = 200

[channels.outbox]
type = "memory"

[sinks.link]
type = "forward"
channel = "outbox"
port = {}
)",
                                  port));
  auto probe = [&]() -> caf::expected<bool> {
    auto link = sender->component("link");
    if (!link)
      return link.error();
    caf::scoped_actor self{sender->system()};
    caf::expected<bool> result = false;
    self->request(*link, 5s, probe_atom::value)
        .receive([&](bool ok) { result = ok; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  };
  REQUIRE(eventually(
      [&] { return receiver->metrics().snapshot("link").events_in > 0; }));
  WHEN("the peer runs") {
    auto ok = probe();
    THEN("the probe passes") {
      REQUIRE(ok);
      CHECK(*ok);
    }
  }
  WHEN("the peer is gone") {
    receiver->stop();
    CHECK(!receiver->wait());
    THEN("the probe fails instead of waiting") {
      CHECK(eventually([&] { return !probe(); }, 10s));
    }
  }
  sender->stop();
  sender->wait();
}

SCENARIO("a full receiving channel holds the sender's requests: backpressure "
         "crosses the link",
         "[forward]") {
  auto bench = std::make_shared<sluice::test::test_bench>();
  bench->write_delay_ms = 20;
  auto port = sluice::test::free_port();
  REQUIRE(port != 0);
  constexpr int count = 2'000;
  auto registry = sluice::test::make_test_registry(bench);
  auto receiver_spec = parse(fmt::format(R"([sources.link]
type = "forward"
channel = "inbox"
port = {}
batch_size = 50

[channels.inbox]
type = "memory"
capacity = 200
transaction_capacity = 50

[sinks.slow]
type = "recorder"
channel = "inbox"
batch_size = 50
)",
                                         port),
                             registry);
  auto made = engine::make(std::move(receiver_spec), registry,
                           engine_options{2, 0, {}});
  REQUIRE(made);
  auto receiver = std::move(*made);
  REQUIRE(!receiver->start());
  auto sender = start(fmt::format(R"([sources.gen]
type = "generator"
channel = "outbox"
count = {}
batch_size = 50

[channels.outbox]
type = "memory"
capacity = 10000
transaction_capacity = 100

[sinks.link]
type = "forward"
channel = "outbox"
port = {}
batch_size = 100
)",
                                  count, port));
  WHEN("the receiver's sink is slow") {
    // The generator is done at once; the events wait in the sender's channel
    // while the receiver's channel stays within its capacity.
    REQUIRE(eventually([&] {
      return sender->metrics().snapshot("gen").events_out == count &&
             bench->received_count() > 0;
    }));
    auto outbox = sender->metrics().snapshot("outbox").fill_events;
    auto inbox = receiver->metrics().snapshot("inbox").fill_events;
    INFO("sender holds " << outbox << ", receiver holds " << inbox);
    CHECK(outbox >= 1000);
    CHECK(inbox <= 200);
    AND_WHEN("the sink speeds up") {
      bench->write_delay_ms = 0;
      REQUIRE(eventually([&] { return bench->received_count() >= count; }));
      THEN("every event arrived once, without errors") {
        std::map<std::string, int> seen;
        {
          std::lock_guard guard{bench->mtx};
          for (auto& x : bench->received)
            ++seen[x];
        }
        CHECK(seen.size() == count);
        for (auto& [body, n] : seen)
          REQUIRE(n == 1);
        CHECK(receiver->metrics().snapshot("inbox").errors == 0);
        CHECK(sender->metrics().snapshot("link").errors == 0);
      }
    }
  }
  bench->write_delay_ms = 0;
  sender->stop();
  sender->wait();
  receiver->stop();
  receiver->wait();
}

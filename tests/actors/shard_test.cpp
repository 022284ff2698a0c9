// The shard actor over a real shard log: appends answered once durable,
// fetches (long polls), duplicates across restarts, consumer offsets,
// retention and disk limits.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/shard.hpp"
#include "runtime/atoms.hpp"
#include "runtime/consumer_offsets.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/oversize_origin.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

// Sync counting and gating (shard_log_config::sync_data is a plain function
// pointer, so its state is global; tests using it do not run in parallel).
std::atomic<int> syncs_entered{0};
std::atomic<int> syncs_done{0};
std::atomic<bool> gate_armed{false};
std::atomic<bool> gate_open{true};

int gated_sync(int fd) {
  if (gate_armed.load()) {
    ++syncs_entered;
    while (!gate_open.load())
      std::this_thread::sleep_for(1ms);
  }
  auto r = ::fdatasync(fd);
  if (gate_armed.load())
    ++syncs_done;
  return r;
}

std::atomic<bool> sync_fails{false};

/// Gated like `gated_sync`, then failing with EIO while `sync_fails`.
int gated_failing_sync(int fd) {
  auto r = gated_sync(fd);
  if (sync_fails.load()) {
    errno = EIO;
    return -1;
  }
  return r;
}

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

event_batch numbered(int from, int n, size_t pad = 0) {
  event_batch b;
  for (int i = from; i < from + n; ++i)
    b.append("event-" + std::to_string(i) + std::string(pad, 'x'));
  return b;
}

struct shard_bench {
  shard_bench() : sys(init(cfg)) {}

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    register_types(c);
    c.set("logger.verbosity", caf::atom("quiet"));
    c.set("scheduler.max-threads", 2);
    return c;
  }

  shard_config config() {
    shard_config sc;
    sc.name = "t/shard-0000";
    sc.log.directory = fs::path{dir.path()} / "shard-0000";
    sc.log.min_free_space = 0;
    sc.metrics = metrics;
    return sc;
  }

  shard_actor spawn(shard_config sc) {
    auto s = spawn_shard(sys, std::move(sc));
    self->monitor(s);
    return s;
  }

  /// Stops `s` and waits until it ended.
  void stop(const shard_actor& s) {
    self->send(s, stop_atom::value);
    wait_down(s);
  }

  /// Waits until `s` ended (down messages of earlier shards pass by).
  void wait_down(const shard_actor& s) {
    bool down = false;
    bool timed_out = false;
    while (!down && !timed_out)
      self->receive(
          [&](caf::down_msg& msg) { down = msg.source == s.address(); },
          caf::after(10s) >> [&] { timed_out = true; });
    REQUIRE(down);
  }

  caf::expected<append_result> append(const shard_actor& s,
                                      const std::string& producer, uint64_t seq,
                                      const event_batch& b) {
    caf::expected<append_result> result = make_error(topic_errc::stopped);
    self->request(s, 10s, append_atom::value, producer, seq, b)
        .receive([&](append_result& r) { result = r; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<fetch_result> fetch(const shard_actor& s, uint64_t offset,
                                    int64_t wait_ms = 0) {
    caf::expected<fetch_result> result = make_error(topic_errc::stopped);
    self->request(s, 20s, fetch_atom::value, offset, uint64_t{1} << 20, wait_ms)
        .receive([&](fetch_result& r) { result = std::move(r); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  shard_offsets offsets(const shard_actor& s) {
    shard_offsets result;
    self->request(s, 10s, offsets_atom::value)
        .receive([&](shard_offsets& r) { result = r; },
                 [&](caf::error& err) { FAIL(describe(err)); });
    return result;
  }

  test::temp_dir dir;
  std::shared_ptr<component_metrics> metrics =
      std::make_shared<component_metrics>("t", "topic");
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self{sys};
};

std::vector<std::string> bodies(const fetch_result& r) {
  std::vector<std::string> out;
  for (auto& rb : r.batches)
    for (size_t i = 0; i < rb.batch.size(); ++i)
      out.emplace_back(rb.batch.body(i));
  return out;
}

} // namespace

TEST_CASE("a shard appends batches and serves them back by offset", "[shard]") {
  shard_bench bench;
  auto s = bench.spawn(bench.config());
  auto a = bench.append(s, "p1", 1, numbered(0, 3));
  REQUIRE(a);
  CHECK(a->base_offset == 0);
  CHECK(a->count == 3);
  CHECK_FALSE(a->duplicate);
  auto b = bench.append(s, "p1", 2, numbered(3, 2));
  REQUIRE(b);
  CHECK(b->base_offset == 3);
  auto off = bench.offsets(s);
  CHECK(off.start == 0);
  CHECK(off.end == 5);
  CHECK(off.durable_end == 5);
  auto r = bench.fetch(s, 0);
  REQUIRE(r);
  CHECK(bodies(*r) == std::vector<std::string>{"event-0", "event-1", "event-2",
                                               "event-3", "event-4"});
  REQUIRE(r->batches.size() == 2);
  CHECK(r->batches[1].base_offset == 3);
  CHECK(r->end_offset == 5);
  // From the middle: the batch holding offset 4 on.
  auto mid = bench.fetch(s, 4);
  REQUIRE(mid);
  REQUIRE(mid->batches.size() == 1);
  CHECK(mid->batches[0].base_offset == 3);
  // Past the end: refused.
  auto past = bench.fetch(s, 6);
  REQUIRE_FALSE(past);
  CHECK(past.error() == make_error(topic_errc::bad_request));
  // Bad appends are refused and counted.
  CHECK_FALSE(bench.append(s, "", 3, numbered(0, 1)));
  CHECK_FALSE(bench.append(s, "p1", 0, numbered(0, 1)));
  CHECK_FALSE(bench.append(s, "p1", 3, event_batch{}));
  CHECK(bench.metrics->protocol_errors.load() == 4);
  CHECK(bench.metrics->events_in.load() == 5);
  bench.stop(s);
}

TEST_CASE("a shard answers an append only after the sync that makes it "
          "durable",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.sync_data = gated_sync;
  auto s = bench.spawn(sc);
  // Opened; from now on every sync waits at the gate until the test opens it.
  bench.offsets(s);
  syncs_entered = 0;
  syncs_done = 0;
  gate_open = false;
  gate_armed = true;
  auto reply = std::async(std::launch::async, [&] {
    caf::scoped_actor writer{bench.sys};
    caf::expected<append_result> result = make_error(topic_errc::stopped);
    writer
        ->request(s, 20s, append_atom::value, std::string{"p"}, uint64_t{1},
                  numbered(0, 2))
        .receive([&](append_result& r) { result = r; },
                 [&](caf::error& err) { result = std::move(err); });
    return std::make_pair(result, syncs_done.load());
  });
  REQUIRE(eventually([] { return syncs_entered.load() >= 1; }));
  // The shard is inside the sync: the writer has no answer yet.
  CHECK(reply.wait_for(0ms) == std::future_status::timeout);
  gate_open = true;
  auto [result, done_at_reply] = reply.get();
  gate_armed = false;
  REQUIRE(result);
  CHECK(result->count == 2);
  CHECK(done_at_reply >= 1);
  CHECK(bench.offsets(s).durable_end == 2);
  bench.stop(s);
}

/// Sends an append from a writer of its own; the future holds the answer.
std::future<caf::expected<append_result>> append_async(caf::actor_system& sys,
                                                       const shard_actor& s,
                                                       uint64_t seq,
                                                       event_batch b) {
  return std::async(std::launch::async, [&sys, s, seq, b = std::move(b)] {
    caf::scoped_actor writer{sys};
    caf::expected<append_result> result = make_error(topic_errc::stopped);
    writer->request(s, 20s, append_atom::value, std::string{"p"}, seq, b)
        .receive([&](append_result& r) { result = r; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  });
}

TEST_CASE("a shard appends while a sync is in flight and answers each "
          "append after the sync that covers it",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.sync_data = gated_sync;
  auto s = bench.spawn(sc);
  bench.offsets(s);
  syncs_entered = 0;
  syncs_done = 0;
  gate_open = false;
  gate_armed = true;
  auto first = append_async(bench.sys, s, 1, numbered(0, 2));
  REQUIRE(eventually([] { return syncs_entered.load() >= 1; }));
  // The first sync is held at the gate. The shard still takes the second
  // append and writes it (its end moves), but it is not durable yet.
  auto second = append_async(bench.sys, s, 2, numbered(2, 3));
  REQUIRE(eventually([&] { return bench.offsets(s).end == 5; }));
  auto o = bench.offsets(s);
  CHECK(o.durable_end == 0);
  CHECK(syncs_entered.load() == 1);
  CHECK(first.wait_for(0ms) == std::future_status::timeout);
  CHECK(second.wait_for(0ms) == std::future_status::timeout);
  gate_open = true;
  auto a = first.get();
  auto b = second.get();
  gate_armed = false;
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->base_offset == 0);
  CHECK(b->base_offset == 2);
  // The second append waited for a second sync: the first began before it.
  CHECK(syncs_done.load() == 2);
  CHECK(bench.offsets(s).durable_end == 5);
  auto r = bench.fetch(s, 0);
  REQUIRE(r);
  CHECK(bodies(*r).size() == 5);
  bench.stop(s);
}

TEST_CASE("a sync that fails in flight fails the appends it held and stops "
          "the shard; a restart keeps what was durable",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.sync_data = gated_failing_sync;
  auto s = bench.spawn(sc);
  REQUIRE(bench.append(s, "p", 1, numbered(0, 2)));
  syncs_entered = 0;
  gate_open = false;
  gate_armed = true;
  sync_fails = true;
  auto held = append_async(bench.sys, s, 2, numbered(2, 2));
  REQUIRE(eventually([] { return syncs_entered.load() >= 1; }));
  gate_open = true;
  auto r = held.get();
  gate_armed = false;
  sync_fails = false;
  REQUIRE(!r);
  CHECK(r.error() == make_error(topic_errc::io_error));
  bench.wait_down(s);
  CHECK(bench.metrics->errors.load() >= 1);
  auto again = bench.spawn(bench.config());
  auto o = bench.offsets(again);
  CHECK(o.end == 2);
  CHECK(o.durable_end == 2);
  bench.stop(again);
}

TEST_CASE("a shard drops a batch it appended before a restart", "[shard]") {
  shard_bench bench;
  {
    auto s = bench.spawn(bench.config());
    REQUIRE(bench.append(s, "agent1/c1#1", 7, numbered(0, 4)));
    REQUIRE(bench.append(s, "agent1/c1#1", 8, numbered(4, 1)));
    bench.stop(s);
  }
  auto s = bench.spawn(bench.config());
  auto again = bench.append(s, "agent1/c1#1", 7, numbered(0, 4));
  REQUIRE(again);
  CHECK(again->duplicate);
  CHECK(again->base_offset == 0);
  CHECK(bench.metrics->duplicates_dropped.load() == 4);
  auto fresh = bench.append(s, "agent1/c1#1", 9, numbered(5, 1));
  REQUIRE(fresh);
  CHECK_FALSE(fresh->duplicate);
  CHECK(fresh->base_offset == 5);
  auto r = bench.fetch(s, 0);
  REQUIRE(r);
  CHECK(bodies(*r).size() == 6);
  bench.stop(s);
}

TEST_CASE("a held fetch is answered when an append becomes durable",
          "[shard]") {
  shard_bench bench;
  auto s = bench.spawn(bench.config());
  auto started = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    caf::scoped_actor reader{bench.sys};
    caf::expected<fetch_result> result = make_error(topic_errc::stopped);
    reader
        ->request(s, 30s, fetch_atom::value, uint64_t{0}, uint64_t{1} << 20,
                  int64_t{20'000})
        .receive([&](fetch_result& r) { result = std::move(r); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  });
  // The fetch is held: nothing to read yet.
  CHECK(poll.wait_for(100ms) == std::future_status::timeout);
  REQUIRE(bench.append(s, "p", 1, numbered(0, 2)));
  REQUIRE(poll.wait_for(10s) == std::future_status::ready);
  auto r = poll.get();
  REQUIRE(r);
  CHECK(bodies(*r) == std::vector<std::string>{"event-0", "event-1"});
  CHECK(std::chrono::steady_clock::now() - started < 15s);
  // Without data a held fetch ends empty at its deadline.
  auto empty = bench.fetch(s, 2, 50);
  REQUIRE(empty);
  CHECK(empty->batches.empty());
  CHECK(empty->end_offset == 2);
  bench.stop(s);
}

TEST_CASE("a shard keeps its consumer groups' offsets across restarts",
          "[shard]") {
  shard_bench bench;
  auto commit = [&](const shard_actor& s, std::string group, uint64_t off) {
    caf::expected<bool> result = false;
    bench.self->request(s, 10s, commit_atom::value, group, off)
        .receive([&](bool ok) { result = ok; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  };
  auto committed = [&](const shard_actor& s, std::string group) {
    caf::expected<uint64_t> result = uint64_t{0};
    bench.self->request(s, 10s, committed_atom::value, group)
        .receive([&](uint64_t off) { result = off; },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  };
  {
    auto s = bench.spawn(bench.config());
    REQUIRE(bench.append(s, "p", 1, numbered(0, 5)));
    auto ok = commit(s, "sql-job", 3);
    REQUIRE(ok);
    CHECK(*ok);
    REQUIRE(commit(s, "archive", 5));
    // Past the end: refused.
    auto bad = commit(s, "sql-job", 6);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == make_error(topic_errc::bad_request));
    auto none = committed(s, "nobody");
    REQUIRE_FALSE(none);
    CHECK(none.error() == make_error(topic_errc::no_committed_offset));
    bench.stop(s);
  }
  CHECK(fs::exists(fs::path{bench.dir.path()} / "shard-0000" /
                   "consumer-offsets"));
  {
    auto s = bench.spawn(bench.config());
    auto a = committed(s, "sql-job");
    REQUIRE(a);
    CHECK(*a == 3);
    auto b = committed(s, "archive");
    REQUIRE(b);
    CHECK(*b == 5);
    // A commit reaches the disk on its own within the flush interval, so a
    // kill keeps it too.
    REQUIRE(commit(s, "sql-job", 4));
    REQUIRE(eventually([&] {
      auto x = consumer_offsets::load(fs::path{bench.dir.path()} /
                                      "shard-0000" / "consumer-offsets");
      return x && x->get("sql-job") == uint64_t{4};
    }));
    bench.self->send_exit(s, caf::exit_reason::kill);
    bench.wait_down(s);
  }
  auto s = bench.spawn(bench.config());
  auto a = committed(s, "sql-job");
  REQUIRE(a);
  CHECK(*a == 4);
  bench.stop(s);
}

TEST_CASE("a shard's retention timer deletes old segments", "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.segment_bytes = 4096;
  sc.log.retention_ms = 1;
  sc.retention_interval_ms = 50;
  auto s = bench.spawn(sc);
  for (int i = 0; i < 20; ++i)
    REQUIRE(bench.append(s, "p", static_cast<uint64_t>(i + 1),
                         numbered(i * 4, 4, 300)));
  auto end = bench.offsets(s).end;
  CHECK(end == 80);
  // Every segment but the active one goes; the earliest offset moves.
  REQUIRE(eventually([&] { return bench.offsets(s).start > 0; }));
  auto off = bench.offsets(s);
  CHECK(off.end == 80);
  CHECK(off.start < 80);
  auto r = bench.fetch(s, 0);
  REQUIRE(r);
  CHECK(r->start_offset == off.start);
  REQUIRE_FALSE(r->batches.empty());
  CHECK(r->batches.front().base_offset == off.start);
  CHECK(bench.metrics->segments.load() >= 1);
  bench.stop(s);
}

TEST_CASE("a shard over its disk limit refuses appends with the reason",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.segment_bytes = 4096;
  sc.log.max_disk_bytes = 16 * 1024;
  auto s = bench.spawn(sc);
  caf::error refused;
  for (int i = 0; i < 100 && !refused; ++i) {
    auto r = bench.append(s, "p", static_cast<uint64_t>(i + 1),
                          numbered(i * 4, 4, 300));
    if (!r)
      refused = r.error();
  }
  REQUIRE(refused);
  CHECK(refused == make_error(topic_errc::disk_full));
  INFO(describe(refused));
  CHECK(describe(refused).size() > to_string(topic_errc::disk_full).size());
  // Nothing half-written: every stored record reads back.
  auto off = bench.offsets(s);
  auto r = bench.fetch(s, 0);
  REQUIRE(r);
  CHECK(r->end_offset == off.end);
  bench.stop(s);
}

TEST_CASE("a producer's later batches wait behind one the full disk refused",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.log.segment_bytes = 4096;
  sc.log.max_disk_bytes = 16 * 1024;
  sc.held_order_ms = 300;
  auto s = bench.spawn(sc);
  bool full = false;
  for (int i = 0; i < 100 && !full; ++i)
    full = !bench.append(s, "fill", static_cast<uint64_t>(i + 1),
                         numbered(i * 4, 4, 300));
  REQUIRE(full);
  // p's big batch does not fit; its small next one would, but waits.
  auto big = bench.append(s, "p", 1, numbered(1000, 4, 300));
  REQUIRE_FALSE(big);
  CHECK(big.error() == make_error(topic_errc::disk_full));
  auto held = bench.append(s, "p", 2, numbered(1004, 1));
  REQUIRE_FALSE(held);
  CHECK(held.error() == make_error(topic_errc::disk_full));
  CHECK_THAT(describe(held.error()),
             Catch::Contains("batch 2 of producer p waits behind its batch 1, "
                             "which the full disk refused"));
  // Another producer's batch of the same size fits.
  auto other = bench.append(s, "q", 1, numbered(2000, 1));
  REQUIRE(other);
  CHECK_FALSE(other->duplicate);
  // A producer that does not come back is forgotten after held_order_ms.
  auto since = std::chrono::steady_clock::now();
  caf::expected<append_result> later = make_error(topic_errc::disk_full);
  uint64_t seq = 2;
  while (!later && std::chrono::steady_clock::now() - since < 10s)
    later = bench.append(s, "p", seq++, numbered(1004, 1));
  REQUIRE(later);
  CHECK(std::chrono::steady_clock::now() - since >= 250ms);
  bench.stop(s);
}

TEST_CASE("a duplicate whose first copy the shard forgot waits for the sync",
          "[shard]") {
  shard_bench bench;
  syncs_done = 0;
  gate_open = true;
  gate_armed = true;
  auto sc = bench.config();
  sc.fsync_interval_ms = 300;
  sc.log.sync_data = gated_sync;
  auto s = bench.spawn(sc);
  // 70 batches of one producer in one sync interval: the shard remembers
  // where only the last 64 are, so seq 1 is a duplicate of unknown place.
  constexpr uint64_t n = 70;
  for (uint64_t seq = 1; seq <= n; ++seq)
    bench.self->send(s, append_atom::value, std::string{"p"}, seq,
                     numbered(static_cast<int>(seq), 1));
  bench.self->send(s, append_atom::value, std::string{"p"}, uint64_t{1},
                   numbered(1, 1));
  uint64_t answers = 0;
  bool dup_seen = false;
  int syncs_at_dup = -1;
  bool timed_out = false;
  while (answers < n + 1 && !timed_out)
    bench.self->receive(
        [&](append_result& r) {
          ++answers;
          if (r.duplicate) {
            dup_seen = true;
            syncs_at_dup = syncs_done.load();
          }
        },
        [&](caf::error& err) { FAIL(describe(err)); },
        caf::after(10s) >> [&] { timed_out = true; });
  gate_armed = false;
  REQUIRE(answers == n + 1);
  REQUIRE(dup_seen);
  // Answered only after the sync that made the first copy durable.
  CHECK(syncs_at_dup >= 1);
  CHECK(bench.offsets(s).end == n);
  bench.stop(s);
}

TEST_CASE("a shard refuses a batch whose origin is too long to store",
          "[shard]") {
  shard_bench bench;
  auto s = bench.spawn(bench.config());
  auto bad = test::with_oversize_origin(numbered(0, 2), 70'000);
  REQUIRE(bad.origin_producer().size() == 70'000);
  REQUIRE(bad.size() == 2);
  auto r = bench.append(s, "p", 1, bad);
  REQUIRE_FALSE(r);
  CHECK(r.error() == make_error(topic_errc::bad_request));
  CHECK(describe(r.error()).find("origin producer of 70000 bytes") !=
        std::string::npos);
  CHECK(bench.metrics->protocol_errors.load() == 1);
  CHECK(bench.offsets(s).end == 0);
  // A batch with a storable origin goes in and reads back.
  auto good = numbered(0, 2);
  REQUIRE(good.set_origin(std::string(100, 'o'), 3));
  REQUIRE(bench.append(s, "p", 1, good));
  auto f = bench.fetch(s, 0);
  REQUIRE(f);
  CHECK(bodies(*f).size() == 2);
  bench.stop(s);
}

TEST_CASE("a shard answers a commit once it is on disk", "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.offsets_flush_ms = 200;
  auto s = bench.spawn(sc);
  REQUIRE(bench.append(s, "p", 1, numbered(0, 5)));
  auto file = fs::path{bench.dir.path()} / "shard-0000" / "consumer-offsets";
  bool ok = false;
  bool on_disk = false;
  bench.self->request(s, 10s, commit_atom::value, std::string{"g"}, uint64_t{3})
      .receive(
          [&](bool x) {
            ok = x;
            // What the answer promises is already in the file.
            auto loaded = consumer_offsets::load(file);
            on_disk = loaded && loaded->get("g") == uint64_t{3};
          },
          [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(ok);
  CHECK(on_disk);
  // The same position again is in the file already: answered at once.
  bench.self->request(s, 10s, commit_atom::value, std::string{"g"}, uint64_t{3})
      .receive([&](bool x) { CHECK(x); },
               [&](caf::error& err) { FAIL(describe(err)); });
  bench.stop(s);
}

TEST_CASE("a shard refuses a commit past its durable end, and answers "
          "offset_for_time within it",
          "[shard]") {
  shard_bench bench;
  auto sc = bench.config();
  sc.fsync_interval_ms = 60'000; // nothing becomes durable in this test
  auto s = bench.spawn(sc);
  // Not answered until the sync; the shard has appended it when it takes
  // the next message from this sender.
  bench.self->send(s, append_atom::value, std::string{"p"}, uint64_t{1},
                   numbered(0, 4));
  auto o = bench.offsets(s);
  REQUIRE(o.end == 4);
  REQUIRE(o.durable_end == 0);
  bench.self->request(s, 10s, commit_atom::value, std::string{"g"}, uint64_t{4})
      .receive([&](bool) { FAIL("a commit past the durable end passed"); },
               [&](caf::error& err) {
                 CHECK(err == make_error(topic_errc::bad_request));
                 CHECK(describe(err).find("durable end 0") !=
                       std::string::npos);
               });
  uint64_t at = 99;
  bench.self->request(s, 10s, offset_for_time_atom::value, int64_t{0})
      .receive([&](uint64_t x) { at = x; },
               [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(at == 0);
  bench.stop(s); // syncs: the append is answered
  bool answered = false;
  bench.self->receive([&](append_result& r) { answered = r.count == 4; },
                      caf::after(10s) >> [] {});
  CHECK(answered);
}

TEST_CASE("a shard moves a damaged consumer-offsets file aside and starts",
          "[shard]") {
  shard_bench bench;
  auto dir = fs::path{bench.dir.path()} / "shard-0000";
  fs::create_directories(dir);
  {
    std::ofstream out{dir / "consumer-offsets", std::ios::binary};
    out << "this is not an offsets file at all";
  }
  auto s = bench.spawn(bench.config());
  REQUIRE(bench.append(s, "p", 1, numbered(0, 2)));
  bench.self->request(s, 10s, committed_atom::value, std::string{"g"})
      .receive([&](uint64_t) { FAIL("a group kept an offset"); },
               [&](caf::error& err) {
                 CHECK(err == make_error(topic_errc::no_committed_offset));
               });
  CHECK_FALSE(fs::exists(dir / "consumer-offsets"));
  int aside = 0;
  for (auto& e : fs::directory_iterator{dir})
    if (e.path().filename().string().rfind("consumer-offsets.corrupt-", 0) == 0)
      ++aside;
  CHECK(aside == 1);
  CHECK(bench.metrics->errors.load() >= 1);
  // New commits work and survive a restart.
  bench.self->request(s, 10s, commit_atom::value, std::string{"g"}, uint64_t{2})
      .receive([&](bool x) { CHECK(x); },
               [&](caf::error& err) { FAIL(describe(err)); });
  bench.stop(s);
  auto again = bench.spawn(bench.config());
  bench.self->request(again, 10s, committed_atom::value, std::string{"g"})
      .receive([&](uint64_t x) { CHECK(x == 2); },
               [&](caf::error& err) { FAIL(describe(err)); });
  bench.stop(again);
}

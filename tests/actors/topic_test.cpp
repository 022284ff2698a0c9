// The topic actor: topic.meta, its shards and their supervision.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/topic.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/fs_sync.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

struct topic_bench {
  topic_bench() : sys(init(cfg)) {}

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    register_types(c);
    c.set("logger.verbosity", caf::atom("quiet"));
    c.set("scheduler.max-threads", 2);
    return c;
  }

  topic_config config(uint32_t shards) {
    topic_config tc;
    tc.name = "orders";
    tc.directory = fs::path{dir.path()} / "orders";
    tc.shards = shards;
    tc.log.min_free_space = 0;
    tc.metrics = metrics;
    tc.restart_backoff_ms = 10;
    return tc;
  }

  topic_actor spawn(topic_config tc) {
    auto t = spawn_topic(sys, std::move(tc));
    self->monitor(t);
    return t;
  }

  caf::expected<topic_metadata> metadata(const topic_actor& t) {
    caf::expected<topic_metadata> result = make_error(topic_errc::stopped);
    self->request(t, 10s, metadata_atom::value)
        .receive([&](topic_metadata& m) { result = std::move(m); },
                 [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Waits for the end of `t` and returns its reason.
  caf::error wait_down(const topic_actor& t) {
    caf::error reason;
    bool down = false;
    bool timed_out = false;
    while (!down && !timed_out)
      self->receive(
          [&](caf::down_msg& msg) {
            if (msg.source == t.address()) {
              down = true;
              reason = msg.reason;
            }
          },
          caf::after(15s) >> [&] { timed_out = true; });
    REQUIRE(down);
    return reason;
  }

  test::temp_dir dir;
  std::shared_ptr<component_metrics> metrics =
      std::make_shared<component_metrics>("orders", "topic");
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self{sys};
};

event_batch one(const std::string& body) {
  event_batch b;
  b.append(body);
  return b;
}

} // namespace

TEST_CASE("a topic creates its metadata and its shards", "[topic]") {
  topic_bench bench;
  auto t = bench.spawn(bench.config(3));
  auto m = bench.metadata(t);
  REQUIRE(m);
  CHECK(m->name == "orders");
  CHECK(m->shards == 3);
  REQUIRE(m->shard_actors.size() == 3);
  auto dir = fs::path{bench.dir.path()} / "orders";
  for (auto name : {"shard-0000", "shard-0001", "shard-0002"})
    CHECK(fs::is_directory(dir / name));
  std::ifstream in{dir / "topic.meta"};
  auto j = nlohmann::json::parse(in);
  CHECK(j["format"] == 1);
  CHECK(j["shards"] == 3);
  CHECK(j["name"] == "orders");
  // Each shard takes appends.
  for (size_t i = 0; i < 3; ++i) {
    bool ok = false;
    bench.self
        ->request(m->shard_actors[i], 10s, append_atom::value, std::string{"p"},
                  uint64_t{1}, one("x" + std::to_string(i)))
        .receive([&](append_result& r) { ok = r.count == 1; },
                 [&](caf::error& err) { FAIL(describe(err)); });
    CHECK(ok);
  }
  bench.self->send(t, stop_atom::value);
  CHECK_FALSE(bench.wait_down(t));
}

TEST_CASE("a topic refuses to open with another shard count than stored",
          "[topic]") {
  topic_bench bench;
  {
    auto t = bench.spawn(bench.config(2));
    REQUIRE(bench.metadata(t));
    bench.self->send(t, stop_atom::value);
    CHECK_FALSE(bench.wait_down(t));
  }
  auto meta = create_or_open_topic(bench.config(3));
  REQUIRE_FALSE(meta);
  CHECK(meta.error() == make_error(topic_errc::shard_count_mismatch));
  CHECK(is_permanent(meta.error()));
  auto text = describe(meta.error());
  CHECK(text.find("2 shard(s)") != std::string::npos);
  CHECK(text.find("asks for 3") != std::string::npos);
  auto t = bench.spawn(bench.config(3));
  auto reason = bench.wait_down(t);
  CHECK(reason == make_error(topic_errc::shard_count_mismatch));
  // The same count opens.
  auto again = bench.spawn(bench.config(2));
  REQUIRE(bench.metadata(again));
  bench.self->send(again, stop_atom::value);
  CHECK_FALSE(bench.wait_down(again));
}

TEST_CASE("a topic refuses metadata of an unknown format", "[topic]") {
  topic_bench bench;
  auto dir = fs::path{bench.dir.path()} / "orders";
  fs::create_directories(dir);
  std::ofstream{dir / "topic.meta"} << R"({"format": 2, "shards": 1})";
  auto meta = create_or_open_topic(bench.config(1));
  REQUIRE_FALSE(meta);
  CHECK(meta.error() == make_error(topic_errc::bad_metadata));
  CHECK(describe(meta.error()).find("format 2") != std::string::npos);
}

TEST_CASE("a topic restarts a failed shard, which reopens its log", "[topic]") {
  topic_bench bench;
  auto t = bench.spawn(bench.config(2));
  auto m = bench.metadata(t);
  REQUIRE(m);
  auto old = m->shard_actors[1];
  bool ok = false;
  bench.self
      ->request(old, 10s, append_atom::value, std::string{"p"}, uint64_t{1},
                one("before"))
      .receive([&](append_result&) { ok = true; },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(ok);
  bench.self->send_exit(old, caf::exit_reason::kill);
  shard_actor fresh;
  REQUIRE(eventually([&] {
    auto now = bench.metadata(t);
    if (!now || now->shard_actors[1] == old)
      return false;
    fresh = now->shard_actors[1];
    return true;
  }));
  CHECK(bench.metrics->restarts.load() == 1);
  // The new shard has the old one's records and knows its producers.
  bool dup = false;
  bench.self
      ->request(fresh, 10s, append_atom::value, std::string{"p"}, uint64_t{1},
                one("before"))
      .receive([&](append_result& r) { dup = r.duplicate; },
               [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(dup);
  shard_offsets off;
  bench.self->request(fresh, 10s, offsets_atom::value)
      .receive([&](shard_offsets& o) { off = o; },
               [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(off.end == 1);
  bench.self->send(t, stop_atom::value);
  CHECK_FALSE(bench.wait_down(t));
}

TEST_CASE("a topic whose metadata is lost but whose shards hold records is "
          "refused",
          "[topic]") {
  topic_bench bench;
  {
    auto t = bench.spawn(bench.config(2));
    auto m = bench.metadata(t);
    REQUIRE(m);
    bool ok = false;
    bench.self
        ->request(m->shard_actors[1], 10s, append_atom::value, std::string{"p"},
                  uint64_t{1}, one("kept"))
        .receive([&](append_result&) { ok = true; },
                 [&](caf::error& err) { FAIL(describe(err)); });
    REQUIRE(ok);
    bench.self->send(t, stop_atom::value);
    CHECK_FALSE(bench.wait_down(t));
  }
  auto dir = fs::path{bench.dir.path()} / "orders";
  REQUIRE(fs::remove(dir / "topic.meta"));
  // Another count would re-partition the keys: nothing is written.
  auto meta = create_or_open_topic(bench.config(3));
  REQUIRE_FALSE(meta);
  CHECK(meta.error() == make_error(topic_errc::bad_metadata));
  CHECK(is_permanent(meta.error()));
  auto text = describe(meta.error());
  CHECK(text.find("topic.meta is missing") != std::string::npos);
  CHECK(text.find("shard-0000") != std::string::npos);
  CHECK(text.find("shard-0001") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "topic.meta"));
  auto t = bench.spawn(bench.config(2));
  CHECK(bench.wait_down(t) == make_error(topic_errc::bad_metadata));
  // Shard directories without segments (a topic cut short while created)
  // do not hold it back.
  auto empty = fs::path{bench.dir.path()} / "fresh";
  fs::create_directories(empty / "shard-0000");
  auto tc = bench.config(1);
  tc.directory = empty;
  auto created = create_or_open_topic(tc);
  REQUIRE(created);
  CHECK(created->shards == 1);
}

TEST_CASE("a topic creates its missing parent directories", "[topic]") {
  topic_bench bench;
  auto tc = bench.config(1);
  tc.directory = fs::path{bench.dir.path()} / "a" / "b" / "orders";
  REQUIRE(create_or_open_topic(tc));
  CHECK(fs::is_regular_file(tc.directory / "topic.meta"));
  CHECK(fs::is_directory(tc.directory / "shard-0000"));
  // Again: everything exists, nothing to create.
  CHECK(create_directories_synced(tc.directory) == caf::error{});
  // A file in the way is an error naming it.
  auto blocked = fs::path{bench.dir.path()} / "file";
  std::ofstream{blocked} << "x";
  auto err = create_directories_synced(blocked / "orders");
  CHECK(err == make_error(topic_errc::io_error));
  CHECK(describe(err).find("ot a directory") != std::string::npos);
}

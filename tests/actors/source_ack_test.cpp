// A source commits its connector only over a contiguous run of acknowledged
// batches, whatever order the acks come in: a test actor stands in for the
// channel and the test sends the acks.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/source.hpp"
#include "runtime/atoms.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

/// What the test sees of the source's work.
struct ack_log {
  std::mutex mtx;
  std::vector<uint64_t> puts;
  std::vector<uint64_t> commits;

  template <class F>
  auto with(F f) {
    std::lock_guard<std::mutex> guard{mtx};
    return f(*this);
  }
};

/// Three one-event batches, then finished; records commits.
class three_events : public source_connector {
 public:
  explicit three_events(std::shared_ptr<ack_log> log) : log_(std::move(log)) {}
  caf::error open() override { return {}; }
  caf::expected<poll_status> poll(batch_builder& out, size_t) override {
    if (next_ == 3)
      return poll_status::finished;
    out.append(std::to_string(next_++));
    return poll_status::more;
  }
  caf::error commit(uint64_t seq) override {
    log_->with([&](ack_log& l) { l.commits.push_back(seq); });
    return {};
  }

 private:
  std::shared_ptr<ack_log> log_;
  int next_ = 0;
};

/// Answers progress and attach, records puts, never acks.
caf::behavior silent_channel(caf::event_based_actor*,
                             std::shared_ptr<ack_log> log) {
  return {
      [](progress_atom, const std::string&) { return std::string{}; },
      [](attach_atom, uint64_t, const std::string&) { return uint64_t{100}; },
      [log](put_atom, uint64_t seq, const event_batch&, const std::string&) {
        log->with([&](ack_log& l) { l.puts.push_back(seq); });
      },
  };
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

} // namespace

TEST_CASE("a source commits only up to the first batch not acknowledged",
          "[source][ack]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto log = std::make_shared<ack_log>();
  auto channel = sys.spawn(silent_channel, log);
  source_config sc;
  sc.name = "src";
  sc.channel = caf::actor_cast<channel_actor>(channel);
  sc.batch_size = 1;
  sc.metrics = std::make_shared<component_metrics>("src", "source");
  sc.make_connector = [log]() -> caf::expected<source_connector_ptr> {
    return source_connector_ptr{std::make_unique<three_events>(log)};
  };
  sc.make_interceptors = [] {
    return caf::expected<std::vector<interceptor_ptr>>{
        std::vector<interceptor_ptr>{}};
  };
  auto src = spawn_source(sys, sc, false);
  caf::scoped_actor self{sys};
  self->monitor(src);
  REQUIRE(eventually([&] {
    return log->with([](ack_log& l) { return l.puts.size(); }) == 3;
  }));
  CHECK(log->with([](ack_log& l) { return l.puts; }) ==
        std::vector<uint64_t>{1, 2, 3});
  // Batches 2 and 3 are durable, batch 1 is not yet: nothing may commit.
  caf::anon_send(src, ack_atom::value, uint64_t{3}, uint64_t{0});
  caf::anon_send(src, ack_atom::value, uint64_t{2}, uint64_t{0});
  caf::anon_send(src, ack_atom::value, uint64_t{1}, uint64_t{0});
  // The connector finished, so the source ends once all three are acked.
  bool down = false;
  self->receive([&](caf::down_msg& msg) { down = !msg.reason; },
                caf::after(10s) >> [] {});
  REQUIRE(down);
  CHECK(log->with([](ack_log& l) { return l.commits; }) ==
        std::vector<uint64_t>{3});
  caf::anon_send_exit(channel, caf::exit_reason::kill);
}

TEST_CASE("a source does not commit past a gap in its acks", "[source][ack]") {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto log = std::make_shared<ack_log>();
  auto channel = sys.spawn(silent_channel, log);
  source_config sc;
  sc.name = "src";
  sc.channel = caf::actor_cast<channel_actor>(channel);
  sc.batch_size = 1;
  sc.stop_timeout_ms = 200;
  sc.metrics = std::make_shared<component_metrics>("src", "source");
  sc.make_connector = [log]() -> caf::expected<source_connector_ptr> {
    return source_connector_ptr{std::make_unique<three_events>(log)};
  };
  sc.make_interceptors = [] {
    return caf::expected<std::vector<interceptor_ptr>>{
        std::vector<interceptor_ptr>{}};
  };
  auto src = spawn_source(sys, sc, false);
  caf::scoped_actor self{sys};
  self->monitor(src);
  REQUIRE(eventually([&] {
    return log->with([](ack_log& l) { return l.puts.size(); }) == 3;
  }));
  caf::anon_send(src, ack_atom::value, uint64_t{1}, uint64_t{0});
  caf::anon_send(src, ack_atom::value, uint64_t{3}, uint64_t{0});
  // Batch 2 never acked: the stop times out and the source ends with only
  // batch 1 committed.
  caf::anon_send(src, stop_atom::value);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(10s) >> [] {});
  REQUIRE(down);
  CHECK(log->with([](ack_log& l) { return l.commits; }) ==
        std::vector<uint64_t>{1});
  caf::anon_send_exit(channel, caf::exit_reason::kill);
}

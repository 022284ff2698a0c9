// A forward source names each batch it puts by the request that brought it
// (its origin), unless the batch already carries one from an earlier hop.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "actors/channel.hpp"
#include "actors/forward_source.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/metrics.hpp"
#include "runtime/type_ids.hpp"
#include "tests/support/oversize_origin.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace {

struct origin_bench {
  origin_bench() : sys(init(cfg)) {
    channel_config cc;
    cc.name = "inbox";
    cc.metrics = std::make_shared<component_metrics>("inbox", "channel");
    cc.make_store = []() -> caf::expected<channel_store_ptr> {
      return channel_store_ptr{std::make_unique<memory_store>()};
    };
    ch = spawn_channel(sys, cc, false);
    forward_source_config fc;
    fc.name = "link";
    fc.channel = caf::actor_cast<caf::actor>(ch);
    fc.metrics = std::make_shared<component_metrics>("link", "source");
    fs = spawn_forward_source(sys, fc);
  }

  ~origin_bench() {
    // Stopped as the engine stops it, and waited for: it unpublishes its
    // port, which the actor system's shutdown otherwise waits on.
    caf::scoped_actor self{sys};
    self->monitor(fs);
    caf::anon_send(fs, stop_atom::value);
    self->receive([](caf::down_msg&) {},
                  caf::after(std::chrono::seconds{10}) >> [] {});
    caf::anon_send_exit(fs, caf::exit_reason::kill);
    caf::anon_send_exit(ch, caf::exit_reason::kill);
  }

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    register_types(c);
    configure_cluster(c, cluster_link_settings{});
    c.set("logger.verbosity", caf::atom("quiet"));
    c.set("scheduler.max-threads", 2);
    return c;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  channel_actor ch;
  caf::actor fs;
};

} // namespace

TEST_CASE("a forward source stamps each batch it puts with its origin",
          "[forward][origin]") {
  origin_bench bench;
  event_batch plain;
  plain.append("a");
  event_batch relayed;
  relayed.append("b");
  REQUIRE(relayed.set_origin("agent1/c1#2", 9));
  forward_request req;
  req.producer = "agentA/relay#4";
  req.seqs = {5, 6};
  req.batches.ptr = std::make_shared<const std::vector<event_batch>>(
      std::vector<event_batch>{plain, relayed});
  caf::scoped_actor self{bench.sys};
  bool answered = false;
  self->request(bench.fs, 10s, forward_atom::value, req)
      .receive([&](uint64_t dups) { answered = dups == 0; },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(answered);
  lease l;
  self->request(bench.ch, 10s, take_atom::value, uint64_t{100})
      .receive([&](lease& x) { l = std::move(x); },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(l.batches.ptr);
  REQUIRE(l.batches.ptr->size() == 2);
  auto& first = l.batches.ptr->at(0);
  auto& second = l.batches.ptr->at(1);
  CHECK(first.body(0) == "a");
  CHECK(first.origin_producer() == "agentA/relay#4");
  CHECK(first.origin_seq() == 5);
  // A batch that came with an origin keeps the first hop's name.
  CHECK(second.body(0) == "b");
  CHECK(second.origin_producer() == "agent1/c1#2");
  CHECK(second.origin_seq() == 9);
}

TEST_CASE("a forward source refuses a batch whose origin is too long",
          "[forward][origin]") {
  origin_bench bench;
  event_batch plain;
  plain.append("a");
  auto bad = test::with_oversize_origin(plain, 70'000);
  REQUIRE(bad.origin_producer().size() == 70'000);
  forward_request req;
  req.producer = "agentA/relay#4";
  req.seqs = {5};
  req.batches.ptr = std::make_shared<const std::vector<event_batch>>(
      std::vector<event_batch>{bad});
  caf::scoped_actor self{bench.sys};
  bool refused = false;
  self->request(bench.fs, 10s, forward_atom::value, req)
      .receive([&](uint64_t) { FAIL("the forward source took the batch"); },
               [&](caf::error& err) {
                 refused = err == make_error(connector_errc::bad_input) &&
                           describe(err).find("65535") != std::string::npos;
               });
  CHECK(refused);
  // Nothing reached the channel: a take finds nothing within its wait.
  bool empty = true;
  self->request(bench.ch, 300ms, take_atom::value, uint64_t{100})
      .receive([&](lease& l) { empty = l.batches.events() == 0; },
               [&](caf::error&) {});
  CHECK(empty);
}

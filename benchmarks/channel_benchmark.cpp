// Micro-benchmarks of channel hand-off: a batch of 1000 100-byte events
// appended, leased and committed, through the memory store and through the
// channel actor (a source actor's puts and a sink's take/commit requests).
#include <string>

#include <benchmark/benchmark.h>
#include <caf/all.hpp>

#include "actors/channel.hpp"
#include "runtime/atoms.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/type_ids.hpp"

using namespace sluice;

namespace {

event_batch make_batch() {
  std::string body(100, 'x');
  event_batch b;
  for (int i = 0; i < 1000; ++i)
    b.append(body);
  return b;
}

void BM_memory_store_handoff(benchmark::State& state) {
  memory_store store;
  static_cast<void>(store.open());
  auto proto = make_batch();
  for (auto _ : state) {
    state.PauseTiming();
    auto b = proto;
    state.ResumeTiming();
    static_cast<void>(store.append(std::move(b)));
    auto l = store.take(1000);
    static_cast<void>(store.commit(l->id));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_memory_store_handoff);

/// Puts batches into a channel actor and drains it with a sink that takes
/// and commits; measures batches through the actor per second.
void BM_channel_actor_handoff(benchmark::State& state) {
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  channel_config ccfg;
  ccfg.name = "bench";
  ccfg.capacity = 64'000;
  ccfg.transaction_capacity = 1000;
  ccfg.metrics = std::make_shared<component_metrics>("bench", "channel");
  ccfg.make_store = []() -> caf::expected<channel_store_ptr> {
    return channel_store_ptr{std::make_unique<memory_store>()};
  };
  auto ch = spawn_channel(sys, ccfg, false);
  caf::scoped_actor self{sys};
  uint64_t credit = 0;
  // caf::infinite: the channel is local to this benchmark.
  self->request(ch, caf::infinite, attach_atom::value, uint64_t{64'000},
                std::string{})
      .receive([&](uint64_t c) { credit = c; }, [](caf::error&) {});
  auto proto = make_batch();
  uint64_t seq = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // Eight batches per iteration keep the actor busy between requests.
    std::vector<event_batch> copies(8, proto);
    state.ResumeTiming();
    for (auto& b : copies)
      self->send(ch, put_atom::value, ++seq, std::move(b), std::string{});
    for (int i = 0; i < 8; ++i) {
      uint64_t id = 0;
      self->request(ch, caf::infinite, take_atom::value, uint64_t{1000})
          .receive([&](lease& l) { id = l.id; }, [](caf::error&) {});
      self->send(ch, commit_atom::value, id);
    }
    // Acks and credit come back to us, as to a source.
    for (int acks = 0; acks < 8;)
      self->receive([&](ack_atom, uint64_t, uint64_t) { ++acks; },
                    [](credit_atom, uint64_t) {});
  }
  state.SetItemsProcessed(state.iterations() * 8 * 1000);
  self->send_exit(ch, caf::exit_reason::user_shutdown);
}
BENCHMARK(BM_channel_actor_handoff)->UseRealTime();

} // namespace

BENCHMARK_MAIN();

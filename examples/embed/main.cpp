// A program that embeds sluice: it builds a pipeline in code (a generator
// source, a memory channel) and drains the channel with its own sink actor,
// a CAF typed actor that speaks to the channel through `channel_actor`
// (actors/protocols.hpp), so the compiler checks every message it sends.
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <caf/all.hpp>

#include "actors/protocols.hpp"
#include "engine/engine.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/lease.hpp"

using namespace sluice;

namespace {

/// What the custom sink saw.
struct tally {
  std::atomic<uint64_t> events{0};
  std::atomic<bool> in_order{true};
};

/// What the engine may tell our sink: stop.
using counting_sink_actor = caf::typed_actor<caf::reacts_to<stop_atom>>;

struct counting_sink_state {
  // Not an aggregate: CAF would otherwise try to build it from the actor
  // pointer (its first member, a typed handle, takes one).
  counting_sink_state() = default;

  channel_actor channel;
  std::shared_ptr<tally> seen;
  uint64_t next = 0;
  static inline const char* name = "embed.counting_sink";
};

using counting_sink_ptr =
    counting_sink_actor::stateful_pointer<counting_sink_state>;

/// Asks the channel for a lease, checks and counts its events, commits it,
/// and asks again; an empty lease means the channel is stopping.
void take_next(counting_sink_ptr self) {
  // No timeout: the answer waits until data arrives, and the channel lives
  // in this process (the engine spawned both).
  self->request(self->state.channel, caf::infinite, take_atom::value,
                uint64_t{1000})
      .then(
          [self](lease& l) {
            if (l.id == 0) {
              self->quit();
              return;
            }
            auto& st = self->state;
            for (auto& batch : *l.batches.ptr) {
              for (size_t i = 0; i < batch.size(); ++i) {
                auto body = batch.body(i);
                uint64_t n = 0;
                std::from_chars(body.data(), body.data() + 12, n);
                if (n != st.next)
                  st.seen->in_order = false;
                st.next = n + 1;
              }
              st.seen->events += batch.size();
            }
            self->send(st.channel, commit_atom::value, l.id);
            take_next(self);
          },
          [self](caf::error& err) {
            // A channel that already quit after its drain: we are done.
            if (err == caf::sec::request_receiver_down)
              self->quit();
            else
              self->quit(err);
          });
}

counting_sink_actor::behavior_type counting_sink(counting_sink_ptr self,
                                                 channel_actor channel,
                                                 std::shared_ptr<tally> seen) {
  self->state.channel = channel;
  self->state.seen = std::move(seen);
  take_next(self);
  return {
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

int main(int argc, char** argv) {
  int64_t count = argc > 1 ? std::atoll(argv[1]) : 100'000;

  topology_spec spec;
  source_spec gen;
  gen.name = "orders";
  gen.type = "generator";
  gen.channel = "buffer";
  gen.batch_size = 1000;
  gen.opts.set("count", count);
  spec.sources.push_back(gen);
  channel_spec buffer;
  buffer.name = "buffer";
  buffer.type = "memory";
  buffer.opts.set("capacity", int64_t{10'000});
  buffer.opts.set("transaction_capacity", int64_t{1'000});
  spec.channels.push_back(buffer);

  auto eng = engine::make(std::move(spec));
  if (!eng) {
    std::cerr << describe(eng.error()) << '\n';
    return 1;
  }
  auto seen = std::make_shared<tally>();
  (*eng)->add_sink_actor("counter", "buffer",
                         [seen](caf::actor_system& sys, channel_actor channel) {
                           return caf::actor_cast<caf::actor>(
                               sys.spawn(counting_sink, channel, seen));
                         });
  if (auto err = (*eng)->start()) {
    std::cerr << describe(err) << '\n';
    return 1;
  }
  // The generator finishes after `count` events; the engine then drains the
  // channel into our sink and stops by itself.
  if (auto err = (*eng)->wait()) {
    std::cerr << "pipeline failed: " << describe(err) << '\n';
    return 1;
  }
  auto ok = seen->events == static_cast<uint64_t>(count) && seen->in_order;
  std::cout << "custom sink received " << seen->events << " events"
            << (seen->in_order ? " in order" : " OUT OF ORDER") << '\n';
  return ok ? 0 : 1;
}

#include "tests/support/test_actors.hpp"

#include <algorithm>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "runtime/atoms.hpp"
#include "runtime/event_batch.hpp"

namespace sluice::test {

namespace {

using numbered_source_actor =
    source_feedback_actor::extend<caf::reacts_to<stop_atom>>;

struct numbered_source_state {
  numbered_source_state() = default; // not built from the actor pointer
  channel_actor channel;
  uint64_t count = 0;
  uint64_t batch = 0;
  uint64_t next = 0;   ///< next body to send
  uint64_t credit = 0; ///< events the channel lets us put
  uint64_t seq = 0;    ///< seq of the last put
  uint64_t acked = 0;  ///< highest acknowledged seq
  static inline const char* name = "test.numbered_source";
};

using numbered_source_ptr =
    numbered_source_actor::stateful_pointer<numbered_source_state>;

void maybe_quit(numbered_source_ptr self) {
  auto& st = self->state;
  if (st.next == st.count && st.acked == st.seq)
    self->quit();
}

void put_what_credit_allows(numbered_source_ptr self) {
  auto& st = self->state;
  while (st.credit > 0 && st.next < st.count) {
    auto n = std::min({st.credit, st.batch, st.count - st.next});
    event_batch b;
    for (uint64_t i = 0; i < n; ++i)
      b.append(std::to_string(st.next + i));
    st.next += n;
    st.credit -= n;
    self->send(st.channel, put_atom::value, ++st.seq, std::move(b),
               std::string{});
  }
  maybe_quit(self);
}

numbered_source_actor::behavior_type numbered_source(numbered_source_ptr self,
                                                     channel_actor channel,
                                                     uint64_t count,
                                                     uint64_t batch) {
  auto& st = self->state;
  st.channel = std::move(channel);
  st.count = count;
  st.batch = std::max<uint64_t>(1, batch);
  // caf::infinite: the channel is in this process (the engine spawned it).
  self->request(st.channel, caf::infinite, attach_atom::value, 4 * st.batch,
                std::string{})
      .then(
          [self](uint64_t credit) {
            self->state.credit += credit;
            put_what_credit_allows(self);
          },
          [self](caf::error& err) { self->quit(err); });
  return {
      [self](ack_atom, uint64_t seq, uint64_t credit) {
        auto& st = self->state;
        st.acked = std::max(st.acked, seq);
        st.credit += credit;
        put_what_credit_allows(self);
      },
      [self](credit_atom, uint64_t credit) {
        self->state.credit += credit;
        put_what_credit_allows(self);
      },
      [self](stop_atom) { self->quit(); },
  };
}

} // namespace

caf::actor spawn_numbered_source(caf::actor_system& sys, channel_actor channel,
                                 uint64_t count, uint64_t batch) {
  return caf::actor_cast<caf::actor>(
      sys.spawn(numbered_source, std::move(channel), count, batch));
}

} // namespace sluice::test

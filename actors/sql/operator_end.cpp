#include <chrono>
#include <variant>

#include <caf/event_based_actor.hpp>

#include "actors/sql/operator_detail.hpp"
#include "runtime/log.hpp"

// The end of an operator instance: firing what is left when every input
// ended, draining a sink or a lookup that holds rows, the periodic tick.
namespace sluice::sql_actors::detail {

namespace {

/// Open windows or groups when the job stops without firing them.
size_t open_state(const core_state& core) {
  if (auto* w = std::get_if<ops::window_agg_state>(&core))
    return w->num_keys();
  if (auto* s = std::get_if<ops::session_agg_state>(&core))
    return s->num_keys();
  if (auto* j = std::get_if<join_core>(&core))
    return j->st.num_keys();
  if (auto* l = std::get_if<lookup_core>(&core)) {
    size_t rows = 0;
    for (auto& b : l->pending)
      rows += b.active_rows();
    return rows; // rows that waited for the table
  }
  return 0;
}

/// The last step of `finish`: ends the outputs and quits when they are
/// done.
void end_outputs(operator_ptr self) {
  auto& st = self->state;
  if (st.out)
    st.out->end();
  if (st.late)
    st.late->end();
  release_acks(self);
  maybe_quit(self);
}

} // namespace

/// Every input ended: fire what is left (unless stopping), end the output.
void finish(operator_ptr self) {
  auto& st = self->state;
  if (st.finishing)
    return;
  st.finishing = true;
  if (st.stopping) {
    if (auto n = open_state(st.core); n > 0)
      log().info("operator {}: stopped with {} open window group(s) or "
                 "buffered row(s), discarded",
                 st.label, n);
  } else {
    advance(self, columnar::max_timestamp);
  }
  if (auto* s = std::get_if<sink_core>(&st.core); s && s->open) {
    if (auto err = s->sink->flush()) {
      fail(self, err);
      return;
    }
    if (s->sink->holding()) {
      s->draining = true;
      log().info("operator {}: the input ended; waiting for the sink to "
                 "write the rows it holds",
                 st.label);
      return; // on_tick goes on
    }
    s->open = false;
    s->sink->close();
  }
  if (auto* l = std::get_if<lookup_core>(&st.core); l && l->open) {
    if (!l->pending.empty() && !st.stopping) {
      l->draining = true; // on_tick goes on
      return;
    }
    l->open = false;
    l->lookup->close();
  }
  end_outputs(self);
}

void on_tick(operator_ptr self) {
  auto& st = self->state;
  st.tick_scheduled = false;
  auto* s = std::get_if<sink_core>(&st.core);
  auto* l = std::get_if<lookup_core>(&st.core);
  if (st.finishing && !(s && s->draining) && !(l && l->draining))
    return;
  if (l) {
    if (auto err = drain_lookups(self)) {
      fail(self, err);
      return;
    }
    release_acks(self);
    if (l->draining && l->pending.empty()) {
      l->draining = false;
      l->open = false;
      l->lookup->close();
      end_outputs(self);
      return;
    }
  } else if (s) {
    auto err = s->sink->tick();
    if (!err && s->draining)
      err = s->sink->flush();
    if (err) {
      fail(self, err);
      return;
    }
    if (s->draining && !s->sink->holding()) {
      s->draining = false;
      s->open = false;
      s->sink->close();
      end_outputs(self);
      return;
    }
    release_acks(self);
  } else if (auto* g = std::get_if<ops::group_agg_state>(&st.core)) {
    g->expire(now_ms());
    count_state(self);
  } else {
    return;
  }
  st.tick_scheduled = true;
  self->delayed_send(self, std::chrono::milliseconds{st.tick_ms},
                     tick_atom::value);
}

} // namespace sluice::sql_actors::detail

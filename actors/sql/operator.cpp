#include "actors/sql/operator.hpp"

#include <algorithm>
#include <chrono>
#include <variant>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/local_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/ops/group_agg.hpp"
#include "actors/ops/session_agg.hpp"
#include "actors/ops/state_limit.hpp"
#include "actors/ops/watermark.hpp"
#include "actors/ops/window_agg.hpp"
#include "actors/ops/window_join.hpp"
#include "actors/sql/calc.hpp"
#include "actors/sql/exchange.hpp"
#include "actors/sql/operator_detail.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/option_strings.hpp"

namespace sluice {

namespace sql_actors::detail {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Ends the instance with `err`, logged and counted.
void fail(operator_ptr self, const caf::error& err) {
  auto& st = self->state;
  st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  log().error("operator {}: {}", st.label, describe(err));
  if (auto* s = std::get_if<sink_core>(&st.core); s && s->open) {
    s->open = false;
    s->sink->close();
  }
  if (auto* s = std::get_if<scan_core>(&st.core); s && s->open) {
    s->open = false;
    s->source->close();
  }
  if (auto* l = std::get_if<lookup_core>(&st.core); l && l->open) {
    l->open = false;
    l->lookup->close();
  }
  self->quit(err);
}

bool output_blocked(operator_ptr self) {
  auto& st = self->state;
  return (st.out && st.out->blocked()) || (st.late && st.late->blocked());
}

void release_acks(operator_ptr self) {
  auto& st = self->state;
  if (output_blocked(self) || st.held.empty())
    return;
  // A sink that cannot write (its database is down) keeps its rows; its
  // inputs get no credit back until it can, so the sources stop.
  if (auto* s = std::get_if<sink_core>(&st.core); s && s->sink->holding())
    return;
  if (auto* l = std::get_if<lookup_core>(&st.core); l && !l->pending.empty())
    return;
  for (auto& a : st.held) {
    st.inputs[a.input].credit += static_cast<int64_t>(a.rows);
    self->send(caf::actor_cast<source_feedback_actor>(a.to), ack_atom::value,
               a.seq, a.rows);
  }
  st.held.clear();
}

/// Quits once the end went out to every target.
void maybe_quit(operator_ptr self) {
  auto& st = self->state;
  if (!st.finishing)
    return;
  if ((st.out && !st.out->done()) || (st.late && !st.late->done()))
    return;
  self->quit();
}

void count_state(operator_ptr self) {
  auto& st = self->state;
  auto& m = *st.cfg.metrics;
  auto report = [&](size_t keys, size_t bytes, uint64_t late) {
    m.state_keys.store(keys, std::memory_order_relaxed);
    m.state_bytes.store(bytes, std::memory_order_relaxed);
    m.late_rows.store(late, std::memory_order_relaxed);
    return ops::check_state_limit(st.cfg.stage.name, bytes,
                                  st.cfg.opts.state_max_bytes);
  };
  caf::error err;
  if (auto* w = std::get_if<ops::window_agg_state>(&st.core))
    err = report(w->num_keys(), w->byte_size(), w->late_rows);
  else if (auto* s = std::get_if<ops::session_agg_state>(&st.core))
    err = report(s->num_keys(), s->byte_size(), s->late_rows);
  else if (auto* g = std::get_if<ops::group_agg_state>(&st.core))
    err = report(g->num_keys(), g->byte_size(), 0);
  else if (auto* j = std::get_if<join_core>(&st.core))
    err = report(j->st.num_keys(), j->st.byte_size(), j->st.late_rows);
  if (err)
    fail(self, err);
}

/// Runs `post` on `rows` and hands them to the output.
void emit(operator_ptr self, columnar::row_batch& rows) {
  auto& st = self->state;
  if (rows.active_rows() == 0)
    return;
  st.ctx.now_ms = now_ms(); // CURRENT_TIMESTAMP, PROCTIME()
  st.post.apply(rows, st.ctx);
  auto n = rows.active_rows();
  if (n == 0)
    return;
  st.cfg.metrics->add_out(n, rows.byte_size());
  if (st.out)
    st.out->push(rows);
}

/// Sends the rows that came too late to the late-rows table, if the job
/// has one (counted either way by the state).
void emit_late(operator_ptr self, columnar::row_batch& late,
               uint32_t time_col) {
  auto& st = self->state;
  if (!st.late || late.active_rows() == 0) {
    late.clear();
    return;
  }
  columnar::row_batch rows{late_rows_schema()};
  std::vector<uint32_t> scratch;
  auto active = late.active(scratch);
  std::string text;
  for (auto r : active) {
    rows.col(0).push_str(st.cfg.stage.name);
    auto& tc = late.col(time_col);
    if (time_col < late.num_columns() &&
        tc.type().id == columnar::type_id::timestamp && tc.valid(r))
      rows.col(1).push<int64_t>(tc.value<int64_t>(r));
    else
      rows.col(1).push_null();
    if (st.wm.current == columnar::min_timestamp)
      rows.col(2).push_null();
    else
      rows.col(2).push<int64_t>(st.wm.current);
    text.clear();
    columnar::append_csv_row(late, r, text);
    rows.col(3).push_str(text);
  }
  rows.set_num_rows(active.size());
  st.late->push(rows);
  late.clear();
}

/// Fires what watermark `wm` closes and passes the watermark on.
void advance(operator_ptr self, int64_t wm) {
  auto& st = self->state;
  if (auto* l = std::get_if<lookup_core>(&st.core); l && !l->pending.empty()) {
    l->held_wm = wm; // it follows the rows that wait (drain_lookups)
    return;
  }
  // `post` may have swapped `result` for a batch of its own schema.
  st.result.reset(st.core_out);
  if (auto* w = std::get_if<ops::window_agg_state>(&st.core))
    ops::fire(*w, wm, st.result);
  else if (auto* s = std::get_if<ops::session_agg_state>(&st.core))
    ops::fire(*s, wm, st.result);
  else if (auto* j = std::get_if<join_core>(&st.core)) {
    st.ctx.now_ms = now_ms(); // the residual may read CURRENT_TIMESTAMP
    ops::fire(j->st, wm, j->residual ? &*j->residual : nullptr, st.ctx,
              st.result);
  }
  emit(self, st.result);
  st.cfg.metrics->watermark_ms.store(wm, std::memory_order_relaxed);
  if (st.out)
    st.out->watermark(wm);
  count_state(self);
}

/// Processes the rows of one chunk from input `port`.
caf::error process(operator_ptr self, uint8_t port,
                   const columnar::row_batch& in) {
  auto& st = self->state;
  const columnar::row_batch* rows = &in;
  if (st.pre.size() > 0) {
    st.work = in;
    st.ctx.now_ms = now_ms(); // CURRENT_TIMESTAMP, PROCTIME()
    st.pre.apply(st.work, st.ctx);
    rows = &st.work;
  }
  if (rows->active_rows() == 0)
    return {};
  st.late_in.clear();
  if (auto* w = std::get_if<ops::window_agg_state>(&st.core)) {
    ops::accumulate(*w, *rows, st.wm.current, st.late_in);
    emit_late(self, st.late_in, w->window.time_column);
  } else if (auto* s = std::get_if<ops::session_agg_state>(&st.core)) {
    ops::accumulate(*s, *rows, st.wm.current, st.late_in);
    emit_late(self, st.late_in, s->window.time_column);
  } else if (auto* g = std::get_if<ops::group_agg_state>(&st.core)) {
    st.result.reset(st.core_out);
    g->apply(*rows, now_ms(), st.result);
    emit(self, st.result);
  } else if (auto* j = std::get_if<join_core>(&st.core)) {
    ops::add(j->st, port, *rows, st.wm.current, st.late_in);
    auto tc = j->st.start_col[port];
    emit_late(self, st.late_in, tc);
  } else if (std::holds_alternative<lookup_core>(st.core)) {
    return lookup_rows(self, *rows);
  } else if (auto* s = std::get_if<sink_core>(&st.core)) {
    if (auto err = s->sink->write(*rows))
      return err;
    st.cfg.metrics->add_out(rows->active_rows(), rows->byte_size());
  }
  return {};
}

void on_rows(operator_ptr self, uint64_t seq, stream_chunk& c) {
  auto& st = self->state;
  auto refuse = [&](std::string why) {
    st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
    log().error("operator {}: refused a chunk (port {}, producer {}, seq "
                "{}): {}",
                st.label, c.port, c.producer, seq, why);
  };
  if (std::holds_alternative<scan_core>(st.core))
    return refuse("a scan has no input");
  if (c.port > 1 || c.producer >= st.cfg.producers[c.port])
    return refuse("no such input");
  auto idx = st.base[c.port] + c.producer;
  auto& in = st.inputs[idx];
  if (in.ended)
    return refuse("the producer already ended");
  if (seq != in.next_seq)
    return refuse(fmt::format("expected seq {}", in.next_seq));
  ++in.next_seq;
  auto n = c.rows.rows();
  if (n > 0) {
    in.credit -= static_cast<int64_t>(n);
    if (in.credit < 0)
      refuse(fmt::format("{} row(s) over credit (accepted)", -in.credit));
    st.cfg.metrics->add_in(n, c.rows.ptr->byte_size());
    if (!st.finishing) {
      if (auto err = process(self, c.port, *c.rows.ptr)) {
        fail(self, err);
        return;
      }
    }
    held_ack a{caf::actor_cast<caf::actor_addr>(self->current_sender()), seq, n,
               idx};
    st.held.push_back(std::move(a));
  }
  if (c.flags & chunk_end) {
    in.ended = true;
    ++st.ended_inputs;
  }
  bool all_ended = st.ended_inputs == st.inputs.size();
  // While the job stops, an input's end is not the end of time: the
  // windows still open are discarded (finish), not fired.
  auto advanced = st.wm.update(idx, c.watermark, c.flags);
  if (advanced && !all_ended && !(st.stopping && (c.flags & chunk_end) != 0))
    advance(self, st.wm.current);
  else
    count_state(self);
  // Values that became NULL by an error (division by zero, a bad cast)
  // in this operator's steps.
  if (st.ctx.errors > 0) {
    st.cfg.metrics->errors.fetch_add(st.ctx.errors, std::memory_order_relaxed);
    st.ctx.errors = 0;
  }
  release_acks(self);
  if (all_ended)
    finish(self);
}

} // namespace sql_actors::detail

namespace {

using namespace sql_actors::detail;
using sql_actors::calc_chain;
using sql_actors::exchange;

caf::error set_up(operator_ptr self) {
  auto& st = self->state;
  auto& stage = st.cfg.stage;
  if (auto* s = std::get_if<scan_stage>(&stage.core))
    return set_up_scan(self, *s);
  auto in0 = st.cfg.inputs[0];
  auto pre = calc_chain::make(stage.pre, in0, *st.cfg.fns);
  if (!pre)
    return pre.error();
  st.pre = std::move(*pre);
  auto core_in = st.pre.out_schema();
  columnar::schema_ptr core_out;
  if (auto* w = std::get_if<window_stage>(&stage.core)) {
    if (w->window.kind == window_kind::session) {
      auto x =
          ops::session_agg_state::make(w->window, w->keys, w->aggs, *core_in);
      if (!x)
        return x.error();
      core_out = x->out_schema;
      st.core = std::move(*x);
    } else {
      auto x =
          ops::window_agg_state::make(w->window, w->keys, w->aggs, *core_in);
      if (!x)
        return x.error();
      core_out = x->out_schema;
      st.core = std::move(*x);
    }
  } else if (auto* g = std::get_if<group_stage>(&stage.core)) {
    auto ttl = g->state_ttl_ms > 0 ? g->state_ttl_ms : st.cfg.opts.state_ttl_ms;
    auto x = ops::group_agg_state::make(g->keys, g->aggs, ttl, *core_in);
    if (!x)
      return x.error();
    core_out = x->out_schema;
    st.core = std::move(*x);
  } else if (auto* j = std::get_if<join_stage>(&stage.core)) {
    auto x = ops::window_join_state::make(
        j->window, j->left_keys, j->right_keys, core_in, st.cfg.inputs[1],
        j->left_window, j->right_window);
    if (!x)
      return x.error();
    join_core jc{std::move(*x), std::nullopt};
    core_out = jc.st.out_schema;
    if (j->residual) {
      auto p = expr::program::compile(*j->residual, *core_out, *st.cfg.fns);
      if (!p)
        return p.error();
      jc.residual = std::move(*p);
    }
    st.core = std::move(jc);
  } else if (auto* s = std::get_if<sink_stage>(&stage.core)) {
    auto* type = st.cfg.tables->find_sink(s->table.connector);
    if (type == nullptr)
      return make_error(sql_errc::bad_plan,
                        fmt::format("table '{}': no sink connector '{}'",
                                    s->table.name, s->table.connector));
    auto opts = options_from_strings(type->options, s->table.options);
    if (!opts)
      return opts.error();
    auto ctx = make_context(
        st, s->table,
        std::make_shared<const columnar::schema>(s->table.physical));
    auto sink = type->make(*ctx, *opts);
    if (!sink)
      return sink.error();
    st.core = sink_core{std::move(*sink), false};
  } else if (auto* l = std::get_if<lookup_stage>(&stage.core)) {
    if (auto err = set_up_lookup(self, *l, core_in))
      return err;
    core_out = st.core_out;
  }
  st.core_out = core_out;
  if (core_out) {
    auto post = calc_chain::make(stage.post, core_out, *st.cfg.fns);
    if (!post)
      return post.error();
    st.post = std::move(*post);
  }
  return {};
}

void make_exchanges(operator_ptr self) {
  auto& st = self->state;
  auto make = [&](const operator_output& o, bool late) {
    for (uint32_t t = 0; t < o.targets.size(); ++t)
      st.targets[o.targets[t].address()] = {late, t};
    auto targets = o.targets;
    return exchange{o.part,
                    o.keys,
                    static_cast<uint32_t>(o.targets.size()),
                    st.cfg.index,
                    o.port,
                    o.producer,
                    st.cfg.opts.batch_rows,
                    st.cfg.credit,
                    [self, targets](uint32_t t, uint64_t seq, stream_chunk c) {
                      self->send(targets[t], rows_atom::value, seq,
                                 std::move(c));
                    }};
  };
  if (st.cfg.out)
    st.out.emplace(make(*st.cfg.out, false));
  if (st.cfg.late)
    st.late.emplace(make(*st.cfg.late, true));
}

void on_credit(operator_ptr self, uint64_t rows) {
  auto& st = self->state;
  auto i =
      st.targets.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (i == st.targets.end()) {
    st.cfg.metrics->protocol_errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto& ex = i->second.first ? st.late : st.out;
  if (ex)
    ex->on_ack(i->second.second, rows);
  release_acks(self);
  maybe_quit(self);
  if (auto* sc = std::get_if<scan_core>(&st.core);
      sc && !sc->finished && st.out->can_send())
    schedule_poll(self, 0);
}

void on_stop(operator_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  if (auto* sc = std::get_if<scan_core>(&st.core); sc && !sc->finished)
    end_scan(self);
}

operator_impl_actor::behavior_type operator_fn(operator_ptr self,
                                               operator_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.system = &self->system();
  st.label =
      fmt::format("{}/{}#{}", st.cfg.job, st.cfg.stage.name, st.cfg.index);
  st.base = {0, st.cfg.producers[0]};
  st.inputs.resize(st.cfg.producers[0] + st.cfg.producers[1]);
  for (auto& in : st.inputs)
    in.credit = static_cast<int64_t>(st.cfg.credit);
  st.wm.resize(st.inputs.size());
  st.cfg.metrics->set_state("running");
  self->set_exception_handler([self](std::exception_ptr& ptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    auto err =
        make_error(sql_errc::eval_error, fmt::format("operator {} failed: {}",
                                                     self->state.label, what));
    self->state.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("{}", describe(err));
    return err;
  });
  if (auto err = set_up(self)) {
    fail(self, err);
    return operator_impl_actor::behavior_type::make_empty_behavior();
  }
  make_exchanges(self);
  auto started = [self]() -> caf::error {
    auto& st = self->state;
    if (auto* sc = std::get_if<scan_core>(&st.core)) {
      if (st.cfg.index >= sc->source->max_splits()) {
        // More instances than the table has splits: this one reads
        // nothing and ends at once, so it holds no watermark back.
        end_scan(self);
        return {};
      }
      if (auto err = sc->source->open())
        return err;
      sc->open = true;
      schedule_poll(self, 0);
    } else if (auto* s = std::get_if<sink_core>(&st.core)) {
      if (auto err = s->sink->open())
        return err;
      s->open = true;
      st.tick_ms = std::max<int64_t>(1, s->sink->tick_interval_ms());
    } else if (auto* l = std::get_if<lookup_core>(&st.core)) {
      if (auto err = l->lookup->open())
        return err;
      l->open = true;
    }
    if (st.inputs.empty() && !std::holds_alternative<scan_core>(st.core))
      finish(self);
    return {};
  };
  if (auto err = started()) {
    fail(self, err);
    return operator_impl_actor::behavior_type::make_empty_behavior();
  }
  bool ticks = std::holds_alternative<sink_core>(st.core) ||
               std::holds_alternative<ops::group_agg_state>(st.core) ||
               std::holds_alternative<lookup_core>(st.core);
  if (ticks && !st.finishing) {
    st.tick_scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds{st.tick_ms},
                       tick_atom::value);
  }
  return {
      [self](rows_atom, uint64_t seq, stream_chunk& c) {
        on_rows(self, seq, c);
      },
      [self](ack_atom, uint64_t, uint64_t rows) { on_credit(self, rows); },
      [self](credit_atom, uint64_t rows) { on_credit(self, rows); },
      [self](stop_atom) { on_stop(self); },
      [self](poll_atom) { poll(self); },
      [self](tick_atom) { on_tick(self); },
  };
}

} // namespace

columnar::schema_ptr late_rows_schema() {
  static const auto schema =
      columnar::make_schema({{"stage", columnar::string_type()},
                             {"event_time", columnar::timestamp_type()},
                             {"watermark", columnar::timestamp_type()},
                             {"row_text", columnar::string_type()}});
  return schema;
}

bool blocking_stage(const stage_spec& s, const table_registry& tables) {
  if (auto* x = std::get_if<scan_stage>(&s.core)) {
    auto* t = tables.find_source(x->table.connector);
    return t == nullptr || t->blocking;
  }
  if (auto* x = std::get_if<sink_stage>(&s.core)) {
    auto* t = tables.find_sink(x->table.connector);
    return t == nullptr || t->blocking;
  }
  if (auto* x = std::get_if<lookup_stage>(&s.core)) {
    auto* t = tables.find_lookup(x->table.connector);
    return t == nullptr || t->blocking;
  }
  return false;
}

operator_actor spawn_operator(caf::local_actor* parent, operator_config cfg,
                              bool detached) {
  if (detached)
    return parent->spawn<caf::linked + caf::detached>(operator_fn,
                                                      std::move(cfg));
  return parent->spawn<caf::linked>(operator_fn, std::move(cfg));
}

} // namespace sluice

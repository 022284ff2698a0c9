#include <algorithm>
#include <chrono>
#include <variant>

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/sql/operator_detail.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/option_strings.hpp"

// The scan side of the operator actor: reads a table source, runs the
// fused steps, takes the watermark.
namespace sluice::sql_actors::detail {

// -- scans -------------------------------------------------------------------

void schedule_poll(operator_ptr self, int64_t delay_ms) {
  auto& sc = std::get<scan_core>(self->state.core);
  if (sc.poll_scheduled || sc.finished || self->state.stopping)
    return;
  sc.poll_scheduled = true;
  if (delay_ms <= 0)
    self->send(self, poll_atom::value);
  else
    self->delayed_send(self, std::chrono::milliseconds{delay_ms},
                       poll_atom::value);
}

void end_scan(operator_ptr self) {
  auto& st = self->state;
  auto& sc = std::get<scan_core>(st.core);
  sc.finished = true;
  if (sc.open) {
    sc.open = false;
    sc.source->close();
  }
  if (!st.stopping) {
    st.out->watermark(columnar::max_timestamp);
    log().info("operator {}: input finished after {} row(s)", st.label,
               st.cfg.metrics->events_out.load());
  }
  st.finishing = true;
  st.out->end();
  maybe_quit(self);
}

/// The watermark the rows of the inputs allow: with one input, the largest
/// of `rows_wm` and what came before; with several (a topic's shards), the
/// lowest of the inputs that are not idle, each input's being the largest
/// of its rows (`rows_wm` of this poll belongs to `last_input`). When every
/// input is idle, everything read counts: the largest of them. Sets
/// `all_idle`.
int64_t inputs_watermark(scan_core& sc, bool got_rows, int64_t rows_wm,
                         bool& all_idle) {
  auto& src = *sc.source;
  auto inputs = std::max<uint32_t>(src.inputs(), 1);
  all_idle = true;
  for (uint32_t i = 0; i < inputs && all_idle; ++i)
    all_idle = src.input_idle(i);
  if (inputs == 1)
    return rows_wm;
  if (sc.input_wm.size() != inputs)
    sc.input_wm.assign(inputs, columnar::min_timestamp);
  if (got_rows) {
    auto& w = sc.input_wm[std::min(src.last_input(), inputs - 1)];
    w = std::max(w, rows_wm);
  }
  auto low = columnar::max_timestamp;
  auto high = columnar::min_timestamp;
  for (uint32_t i = 0; i < inputs; ++i) {
    high = std::max(high, sc.input_wm[i]);
    if (!src.input_idle(i))
      low = std::min(low, sc.input_wm[i]);
  }
  return all_idle ? high : low;
}

void poll(operator_ptr self) {
  auto& st = self->state;
  auto& sc = std::get<scan_core>(st.core);
  sc.poll_scheduled = false;
  if (sc.finished || st.stopping || !st.out->can_send())
    return;
  st.work.reset(st.cfg.inputs[0]);
  auto res = sc.source->poll(st.work, st.cfg.opts.batch_rows);
  if (!res) {
    fail(self, res.error());
    return;
  }
  auto n = st.work.num_rows();
  int64_t wm = sc.source->source_watermark();
  int64_t rows_wm = columnar::min_timestamp;
  // Processing time: rows get PROCTIME() as they are read, so the wall
  // clock just before now is a watermark no later row can be under.
  if (sc.processing_time)
    wm = std::max(wm, now_ms() - 1);
  if (n > 0) {
    st.cfg.metrics->add_in(n, st.work.byte_size());
    sc.last_rows_ms = now_ms();
    // PROCTIME() and CURRENT_TIMESTAMP are read once per batch, after the
    // watermark above: every row's processing time is above it.
    st.ctx.now_ms = sc.last_rows_ms;
    st.pre.apply(st.work, st.ctx, 0, sc.watermark_step);
    if (sc.watermark) {
      std::vector<uint32_t> scratch;
      auto& col = sc.watermark->eval(st.work, st.ctx);
      for (auto r : st.work.active(scratch))
        if (col.valid(r))
          rows_wm = std::max(rows_wm, col.value<int64_t>(r));
    }
    st.pre.apply(st.work, st.ctx, sc.watermark_step, st.pre.size());
    emit(self, st.work);
  }
  bool all_idle = false;
  wm = std::max(wm, inputs_watermark(sc, n > 0, rows_wm, all_idle));
  if (st.ctx.errors > 0) {
    st.cfg.metrics->errors.fetch_add(st.ctx.errors, std::memory_order_relaxed);
    st.ctx.errors = 0;
  }
  if (wm > st.wm.current) {
    st.wm.current = wm;
    st.cfg.metrics->watermark_ms.store(wm, std::memory_order_relaxed);
    st.out->watermark(wm);
  }
  switch (*res) {
  case poll_status::more:
    sc.backoff_ms = 0;
    schedule_poll(self, 0);
    break;
  case poll_status::idle:
    if (n > 0) {
      sc.backoff_ms = 0;
      schedule_poll(self, 0);
      break;
    }
    if (all_idle || (sc.idle_timeout_ms > 0 &&
                     now_ms() - sc.last_rows_ms >= sc.idle_timeout_ms))
      st.out->idle();
    sc.backoff_ms =
        sc.backoff_ms == 0 ? 1 : std::min<int64_t>(sc.backoff_ms * 2, 50);
    schedule_poll(self, sc.backoff_ms);
    break;
  case poll_status::finished:
    end_scan(self);
    break;
  }
}

// -- set-up ------------------------------------------------------------------

caf::expected<table_context> make_context(operator_state& st,
                                          const table_spec& t,
                                          columnar::schema_ptr schema) {
  table_context ctx;
  ctx.name = t.name;
  ctx.schema = std::move(schema);
  ctx.split = st.cfg.index;
  ctx.splits = st.cfg.stage.parallelism;
  ctx.metrics = st.cfg.metrics;
  ctx.memo = st.cfg.memo;
  ctx.primary_key = t.primary_key;
  ctx.system = st.system;
  ctx.find_topic = st.cfg.find_topic;
  return ctx;
}

caf::error set_up_scan(operator_ptr self, const scan_stage& s) {
  auto& st = self->state;
  if (!st.cfg.out)
    return make_error(
        sql_errc::bad_plan,
        fmt::format("scan of '{}' has no consumer", s.table.name));
  auto* type = st.cfg.tables->find_source(s.table.connector);
  if (type == nullptr)
    return make_error(sql_errc::bad_plan,
                      fmt::format("table '{}': no source connector '{}'",
                                  s.table.name, s.table.connector));
  auto opts = options_from_strings(type->options, s.table.options);
  if (!opts)
    return opts.error();
  auto phys = std::make_shared<const columnar::schema>(s.table.physical);
  st.cfg.inputs[0] = phys;
  auto ctx = make_context(st, s.table, phys);
  ctx->idle_timeout_ms = s.idle_timeout_ms;
  auto src = type->make(*ctx, *opts);
  if (!src)
    return src.error();
  scan_core sc;
  sc.source = std::move(*src);
  sc.watermark_step = s.watermark_step;
  sc.idle_timeout_ms = s.idle_timeout_ms;
  sc.processing_time = s.processing_time;
  sc.last_rows_ms = now_ms();
  auto pre = calc_chain::make(st.cfg.stage.pre, phys, *st.cfg.fns);
  if (!pre)
    return pre.error();
  st.pre = std::move(*pre);
  if (s.table.watermark) {
    auto p = expr::program::compile(*s.table.watermark,
                                    *st.pre.schema_after(s.watermark_step),
                                    *st.cfg.fns);
    if (!p)
      return make_error(sql_errc::bad_plan,
                        fmt::format("the watermark of table '{}': {}",
                                    s.table.name, describe(p.error())));
    sc.watermark = std::move(*p);
  }
  st.core = std::move(sc);
  auto post =
      calc_chain::make(st.cfg.stage.post, st.pre.out_schema(), *st.cfg.fns);
  if (!post)
    return post.error();
  st.post = std::move(*post);
  return {};
}

} // namespace sluice::sql_actors::detail

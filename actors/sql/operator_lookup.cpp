#include <algorithm>
#include <chrono>
#include <variant>

#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include "actors/sql/operator_detail.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/option_strings.hpp"

// The lookup side of the operator actor: joins each input row with the
// rows its key finds in a table (a lookup join), through the cache.
namespace sluice::sql_actors::detail {

namespace {

constexpr int64_t first_backoff_ms = 100;
constexpr int64_t max_backoff_ms = 2000;
constexpr uint32_t no_row = UINT32_MAX;

/// Builds `out` (input columns ++ table columns) from input rows `left`
/// of `in` and table rows `right` of the cache (no_row: NULLs).
void assemble(const columnar::row_batch& in, const columnar::row_batch& table,
              const std::vector<uint32_t>& left,
              const std::vector<uint32_t>& right, columnar::row_batch& out) {
  auto nl = in.num_columns();
  for (size_t c = 0; c < nl; ++c)
    out.col(c).gather_from(in.col(c), left);
  bool padded = std::find(right.begin(), right.end(), no_row) != right.end();
  for (size_t c = 0; c < table.num_columns(); ++c) {
    auto& dst = out.col(nl + c);
    if (!padded) {
      dst.gather_from(table.col(c), right);
      continue;
    }
    for (auto r : right) {
      if (r == no_row)
        dst.push_null();
      else
        dst.gather_from(table.col(c), std::span<const uint32_t>{&r, 1});
    }
  }
  if (!in.kinds().empty())
    for (size_t i = 0; i < left.size(); ++i)
      if (auto k = in.kind(left[i]); k != columnar::row_kind::insert)
        out.set_kind(i, k);
}

/// Joins the active rows of `in` with the table: the rows to emit in
/// `out`. A failure of the table leaves nothing done (the rows can be
/// joined again).
caf::error join_batch(operator_state& st, lookup_core& lc,
                      const columnar::row_batch& in, columnar::row_batch& out) {
  auto now = now_ms();
  auto& cache = *lc.cache;
  cache.find(in, lc.left_keys, now, lc.entries, lc.wanted);
  if (!lc.wanted.empty()) {
    cache.keys_of(lc.wanted, lc.keys);
    lc.found.reset(lc.table_schema);
    lc.of.clear();
    if (auto err = lc.lookup->lookup(lc.keys, lc.found, lc.of))
      return err;
    cache.fill(lc.wanted, lc.found, lc.of, now);
  }
  std::vector<uint32_t> scratch;
  auto active = in.active(scratch);
  lc.left.clear();
  lc.right.clear();
  for (size_t k = 0; k < active.size(); ++k) {
    auto e = lc.entries[k];
    auto m =
        e == ops::no_group ? std::span<const uint32_t>{} : cache.matches(e);
    for (auto r : m) {
      lc.left.push_back(active[k]);
      lc.right.push_back(r);
    }
    if (m.empty() && lc.outer) {
      lc.left.push_back(active[k]);
      lc.right.push_back(no_row);
    }
  }
  out.reset(st.core_out);
  assemble(in, cache.rows(), lc.left, lc.right, out);
  if (lc.residual) {
    st.ctx.now_ms = now;
    lc.residual->filter(out, st.ctx);
    if (lc.outer) {
      // A row whose matches the condition all refuses keeps its place
      // with NULLs, as in a LEFT JOIN.
      std::vector<bool> kept(out.num_rows(), out.all_selected());
      for (auto i : out.selection())
        kept[i] = true;
      std::vector<uint32_t> left, right;
      for (size_t i = 0; i < lc.left.size();) {
        auto j = i;
        bool any = false;
        for (; j < lc.left.size() && lc.left[j] == lc.left[i]; ++j)
          if (kept[j] && lc.right[j] != no_row) {
            left.push_back(lc.left[j]);
            right.push_back(lc.right[j]);
            any = true;
          }
        if (!any) {
          left.push_back(lc.left[i]);
          right.push_back(no_row);
        }
        i = j;
      }
      out.reset(st.core_out);
      assemble(in, cache.rows(), left, right, out);
    }
  }
  cache.trim(now);
  auto& m = *st.cfg.metrics;
  m.state_keys.store(cache.size(), std::memory_order_relaxed);
  m.state_bytes.store(cache.byte_size(), std::memory_order_relaxed);
  return {};
}

/// After a failure of the table: hold the rows (unreachable, or a passing
/// error within the retries) or fail.
caf::error on_failure(operator_ptr self, lookup_core& lc, caf::error err) {
  auto& st = self->state;
  auto now = now_ms();
  if (is_permanent(err))
    return err;
  if (lc.lookup->unreachable()) {
    if (lc.outage_since == 0) {
      lc.outage_since = now;
      log().warn("operator {}: table '{}' cannot be reached ({}); {} "
                 "batch(es) wait and the inputs stop",
                 st.label, lc.name, describe(err), lc.pending.size());
    }
    if (lc.cfg.outage_ms > 0 && now - lc.outage_since >= lc.cfg.outage_ms)
      return make_error(connector_errc::io_error,
                        fmt::format("lookup table '{}' unreachable for {} ms "
                                    "('lookup.outage-timeout' is {} ms): {}",
                                    lc.name, now - lc.outage_since,
                                    lc.cfg.outage_ms, describe(err)));
  } else if (++lc.retries > lc.cfg.max_retries) {
    return make_error(connector_errc::io_error,
                      fmt::format("lookup table '{}': {} (after {} "
                                  "retries, 'lookup.max-retries')",
                                  lc.name, describe(err), lc.cfg.max_retries));
  } else {
    log().warn("operator {}: lookup in table '{}' failed ({}); retry {} of "
               "{}",
               st.label, lc.name, describe(err), lc.retries,
               lc.cfg.max_retries);
  }
  lc.backoff_ms =
      std::clamp(lc.backoff_ms * 2, first_backoff_ms, max_backoff_ms);
  lc.retry_at = now + lc.backoff_ms;
  return {};
}

} // namespace

caf::error set_up_lookup(operator_ptr self, const lookup_stage& l,
                         const columnar::schema_ptr& core_in) {
  auto& st = self->state;
  auto* type = st.cfg.tables->find_lookup(l.table.connector);
  if (type == nullptr)
    return make_error(sql_errc::bad_plan,
                      fmt::format("table '{}': connector '{}' has no lookup",
                                  l.table.name, l.table.connector));
  // The table's options may also hold those of its other uses (a sink):
  // the analyzer checked them; the lookup takes its own.
  std::map<std::string, std::string> mine;
  for (auto& [k, v] : l.table.options)
    for (auto& spec : type->options)
      if (spec.name == k)
        mine.emplace(k, v);
  auto opts = options_from_strings(type->options, mine);
  if (!opts)
    return opts.error();
  auto cfg = lookup_settings_of(*opts);
  if (!cfg)
    return cfg.error();
  auto schema = std::make_shared<const columnar::schema>(l.table.physical);
  auto ctx = make_context(st, l.table, schema);
  ctx->lookup_keys = l.table_keys;
  auto lookup = type->make(*ctx, *opts);
  if (!lookup)
    return lookup.error();
  lookup_core lc;
  lc.name = l.table.name;
  lc.lookup = std::move(*lookup);
  lc.cfg = *cfg;
  lc.cache = std::make_unique<ops::lookup_cache>(*cfg, schema);
  lc.table_schema = schema;
  lc.left_keys = l.left_keys;
  lc.outer = l.outer;
  // Output: the input's fields ++ the table's (nullable in a LEFT JOIN).
  columnar::schema out;
  out.fields = core_in->fields;
  out.rowtime = core_in->rowtime;
  for (auto f : l.table.physical.fields) {
    if (l.outer)
      f.type.nullable = true;
    out.fields.push_back(std::move(f));
  }
  st.core_out = std::make_shared<const columnar::schema>(std::move(out));
  if (l.residual) {
    auto p = expr::program::compile(*l.residual, *st.core_out, *st.cfg.fns);
    if (!p)
      return p.error();
    lc.residual = std::move(*p);
  }
  st.core = std::move(lc);
  return {};
}

caf::error lookup_rows(operator_ptr self, const columnar::row_batch& rows) {
  auto& st = self->state;
  auto& lc = std::get<lookup_core>(st.core);
  if (lc.pending.empty() && lc.retry_at == 0) {
    if (auto err = join_batch(st, lc, rows, st.result)) {
      lc.pending.push_back(rows);
      return on_failure(self, lc, std::move(err));
    }
    emit(self, st.result);
    return {};
  }
  lc.pending.push_back(rows);
  return drain_lookups(self);
}

caf::error drain_lookups(operator_ptr self) {
  auto& st = self->state;
  auto& lc = std::get<lookup_core>(st.core);
  if (lc.retry_at > 0 && now_ms() < lc.retry_at)
    return {};
  while (!lc.pending.empty()) {
    if (auto err = join_batch(st, lc, lc.pending.front(), st.result)) {
      if (auto fatal = on_failure(self, lc, std::move(err)))
        return fatal;
      return {};
    }
    if (lc.outage_since > 0) {
      log().info("operator {}: table '{}' is back after {} ms", st.label,
                 lc.name, now_ms() - lc.outage_since);
      lc.outage_since = 0;
    }
    lc.retries = 0;
    lc.retry_at = 0;
    lc.backoff_ms = 0;
    lc.pending.pop_front();
    emit(self, st.result);
  }
  if (lc.held_wm) {
    auto wm = *lc.held_wm;
    lc.held_wm.reset();
    st.cfg.metrics->watermark_ms.store(wm, std::memory_order_relaxed);
    if (st.out)
      st.out->watermark(wm);
  }
  return {};
}

} // namespace sluice::sql_actors::detail

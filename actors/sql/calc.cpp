#include "actors/sql/calc.hpp"

#include <fmt/format.h>
#include <utility>

#include "runtime/errors.hpp"

namespace sluice::sql_actors {

caf::expected<calc_chain> calc_chain::make(const std::vector<calc_step>& steps,
                                           const columnar::schema_ptr& in,
                                           const expr::function_registry& fns) {
  calc_chain result;
  result.in_ = in;
  auto cur = in;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto& spec = steps[i];
    step s;
    s.is_filter = spec.is_filter;
    for (auto& t : spec.exprs) {
      auto p = expr::program::compile(t, *cur, fns);
      if (!p)
        return make_error(sql_errc::bad_plan,
                          fmt::format("step {} ({}) does not compile: {}", i,
                                      spec.is_filter ? "filter" : "project",
                                      describe(p.error())));
      s.progs.push_back(std::move(*p));
    }
    if (s.is_filter) {
      if (s.progs.size() != 1)
        return make_error(sql_errc::bad_plan,
                          fmt::format("filter step {} has {} expressions, "
                                      "not one",
                                      i, s.progs.size()));
      s.out = cur;
    } else {
      if (s.progs.size() != spec.out.fields.size())
        return make_error(sql_errc::bad_plan,
                          fmt::format("project step {} has {} expressions "
                                      "for {} columns",
                                      i, s.progs.size(),
                                      spec.out.fields.size()));
      s.out = std::make_shared<const columnar::schema>(spec.out);
    }
    cur = s.out;
    result.steps_.push_back(std::move(s));
  }
  return result;
}

void calc_chain::apply(columnar::row_batch& b, expr::eval_context& ctx,
                       size_t first, size_t last) {
  for (size_t i = first; i < last && i < steps_.size(); ++i) {
    auto& s = steps_[i];
    if (b.active_rows() == 0 && b.row_schema() == s.out)
      continue;
    if (s.is_filter) {
      s.progs[0].filter(b, ctx);
      continue;
    }
    // A projection computes every column over the active rows of `b`,
    // compacted first so that results line up with the rows they belong
    // to.
    b.compact();
    scratch_.reset(s.out);
    for (size_t c = 0; c < s.progs.size(); ++c)
      scratch_.col(c) = s.progs[c].eval(b, ctx);
    scratch_.set_num_rows(b.num_rows());
    for (size_t r = 0; r < b.kinds().size(); ++r)
      scratch_.set_kind(r, b.kinds()[r]);
    std::swap(b, scratch_);
  }
}

} // namespace sluice::sql_actors

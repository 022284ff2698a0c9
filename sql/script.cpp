#include "sql/script.hpp"

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "sql/analyzer.hpp"
#include "sql/parser.hpp"
#include "sql/planner.hpp"
#include "sql/sample.hpp"

namespace sluice::sql {

caf::expected<compiled_script>
compile_script(std::string_view text, const std::string& file,
               const ::sluice::expr::function_registry& fns,
               const connector_infos& tables, const compile_options& opts,
               std::vector<sql_diagnostic>& diags) {
  auto before = diags.size();
  auto parsed = parse_script(text, file);
  for (auto& d : parsed.diagnostics)
    diags.push_back(d);
  // The statements that parsed are still analyzed: one run reports the
  // errors of every statement.
  analyze_options ao;
  ao.settings = opts.settings;
  ao.getenv = opts.getenv;
  auto bound = analyze(parsed, fns, tables, ao, diags);
  auto invalid = [&] {
    return make_error(
        sql_errc::invalid_script,
        fmt::format("{}: {} error(s)", file, diags.size() - before));
  };
  if (diags.size() != before)
    return invalid();
  if (opts.sample) {
    // Checked as written first, so that a run on samples also says the
    // script is sound; then its tables are rewritten and bound again.
    if (auto err = apply_samples(parsed, bound, *opts.sample, tables, diags))
      return err;
    if (diags.size() == before)
      bound = analyze(parsed, fns, tables, ao, diags);
    if (diags.size() != before)
      return invalid();
  }
  plan_options po;
  po.parallelism = opts.parallelism;
  auto planned = plan_script(bound, po);
  if (!planned)
    return planned.error();
  compiled_script out;
  out.jobs = std::move(planned->jobs);
  out.notes = std::move(planned->notes);
  return out;
}

} // namespace sluice::sql

#include "sql/script.hpp"

#include <algorithm>
#include <map>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "runtime/errors.hpp"
#include "sql/analyzer.hpp"
#include "sql/parser.hpp"
#include "sql/planner.hpp"
#include "sql/sample.hpp"

namespace sluice::sql {

namespace {

/// A note for each consumer group of a topic that several jobs (INSERTs)
/// read: each job commits its own position under the group, so after a
/// restart every job resumes where the last commit of any of them left.
void note_shared_groups(const std::vector<job_spec>& jobs,
                        std::vector<std::string>& notes) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
      readers; // (topic, group) -> jobs
  for (auto& j : jobs)
    for (auto& s : j.stages)
      if (auto* scan = std::get_if<scan_stage>(&s.core)) {
        auto& o = scan->table.options;
        auto topic = o.find("topic");
        auto group = o.find("properties.group.id");
        if (scan->table.connector != "topic" || topic == o.end() ||
            group == o.end())
          continue;
        auto& names = readers[{topic->second, group->second}];
        if (std::find(names.begin(), names.end(), j.name) == names.end())
          names.push_back(j.name);
      }
  for (auto& [key, names] : readers) {
    if (names.size() < 2)
      continue;
    std::string list;
    for (auto& n : names)
      list += (list.empty() ? "" : ", ") + n;
    notes.push_back(fmt::format(
        "jobs {} read topic {} as the same consumer group '{}': each commits "
        "its own position, so a restart resumes every one of them where the "
        "last commit left, and one may skip rows the other had read; give "
        "each INSERT a table with its own 'properties.group.id'",
        list, key.first, key.second));
  }
}

} // namespace

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
  note_shared_groups(out.jobs, out.notes);
  return out;
}

} // namespace sluice::sql

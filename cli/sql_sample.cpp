#include "cli/sql_sample.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>
#include <variant>

#include <fmt/format.h>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

std::string rows(uint64_t n) {
  return fmt::format("{} row{}", n, n == 1 ? "" : "s");
}

/// The distinct lines of a dead-letter file, in order (two scans of one
/// table write each bad row twice).
std::vector<std::string> distinct_lines(const std::string& path) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::ifstream in{path};
  for (std::string line; std::getline(in, line);)
    if (seen.insert(line).second)
      out.push_back(line);
  return out;
}

} // namespace

sample_run::~sample_run() {
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

caf::expected<std::unique_ptr<sample_run>>
sample_run::make(const std::vector<std::string>& args, bool keep_bad_rows) {
  std::unique_ptr<sample_run> run{new sample_run};
  for (auto& arg : args) {
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
      return make_error(config_errc::invalid,
                        "--sample: expected TABLE=FILE, got '" + arg + "'");
    sql::sample_table t;
    t.table = arg.substr(0, eq);
    t.path = arg.substr(eq + 1);
    std::error_code ec;
    if (!fs::exists(t.path, ec))
      return make_error(config_errc::invalid,
                        "--sample " + arg + ": no such file or directory '" +
                            t.path + "'");
    run->opts_.tables.push_back(std::move(t));
  }
  if (!keep_bad_rows)
    return run;
  std::error_code ec;
  auto tmp = fs::temp_directory_path(ec);
  if (ec)
    tmp = "/tmp";
  auto name = (tmp / "sluice-sample-XXXXXX").string();
  if (::mkdtemp(name.data()) == nullptr)
    return make_error(config_errc::invalid,
                      "--sample: cannot make a directory for the rows that "
                      "do not parse in " +
                          tmp.string() + ": " +
                          std::generic_category().message(errno));
  run->dir_ = name;
  // By position, not name: a quoted table name may hold any character.
  for (size_t i = 0; i < run->opts_.tables.size(); ++i)
    run->opts_.tables[i].dead_letter =
        fmt::format("{}/{}.dead-letter", run->dir_, i);
  return run;
}

void sample_run::watch(const std::vector<job_spec>& jobs) {
  for (auto& j : jobs)
    for (auto& s : j.stages) {
      auto name = j.name + "/" + s.name;
      if (auto* scan = std::get_if<scan_stage>(&s.core))
        scans_[name] = scan->table.name;
      else if (auto* lookup = std::get_if<lookup_stage>(&s.core))
        lookups_[name] = lookup->table.name;
      else if (std::holds_alternative<sink_stage>(s.core))
        sinks_.push_back(name);
    }
}

void sample_run::report(const std::vector<stage_summary>& stages,
                        std::ostream& out) const {
  auto summary = std::string{"sample:"};
  for (auto& t : opts_.tables) {
    auto bad = t.dead_letter.empty() ? std::vector<std::string>{}
                                     : distinct_lines(t.dead_letter);
    if (!bad.empty()) {
      out << "sample: " << rows(bad.size()) << " of " << t.table
          << " did not parse and " << (bad.size() == 1 ? "was" : "were")
          << " left out:\n";
      for (auto& line : bad)
        out << line << '\n';
    }
    // Each scan of the table reads the whole sample.
    bool read = false;
    uint64_t in = 0;
    for (auto& s : stages)
      if (auto i = scans_.find(s.name);
          i != scans_.end() && i->second == t.table) {
        read = true;
        in = std::max(in, s.rows_in);
      }
    bool looked_up = false;
    for (auto& [stage, table] : lookups_)
      looked_up = looked_up || table == t.table;
    if (read)
      summary += fmt::format(" {} {} read, {} did not parse;", t.table,
                             rows(in), bad.size());
    else if (looked_up)
      summary += fmt::format(" {} looked up by key, {} did not parse;", t.table,
                             bad.size());
    else
      summary += fmt::format(" {} not read by any job;", t.table);
  }
  uint64_t printed = 0;
  for (auto& s : stages)
    if (std::find(sinks_.begin(), sinks_.end(), s.name) != sinks_.end())
      printed += s.rows_out;
  out << summary << ' ' << rows(printed) << " printed\n";
}

} // namespace sluice

// Runs the SQL test files (tests/sql/**/*.test; the format is in
// tests/README.md): statements are compiled, queries are compiled with
// parallelism 1 and 2 and run in-process over `values` tables into
// `collect` tables, errors are compared with the first rendered diagnostic.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "connectors/table_registry.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "sql/script.hpp"
#include "tests/support/test_tables.hpp"

#if SLUICE_JOB_RUNNER
#include "engine/jobs.hpp"
#endif

using namespace sluice;

namespace {

namespace fs = std::filesystem;

/// What a test file says, one record per directive.
enum class rec_kind {
  statement_ok,
  statement_error,
  query,
  error,
  row,
  watermark,
  end,
};

struct record {
  rec_kind kind = rec_kind::statement_ok;
  size_t line = 0;      ///< 1-based line of the directive (or the row)
  size_t sql_first = 0; ///< 1-based lines of the SQL text
  size_t sql_last = 0;
  std::string table;             ///< row, watermark, end
  std::string text;              ///< row: the CSV text
  int64_t watermark_ms = 0;      ///< watermark
  std::vector<std::string> rows; ///< query: expected rows
  std::string expected;          ///< errors: the first rendered line
  bool rowsort = false;
  std::optional<uint64_t> late;
};

/// A parsed test file.
struct test_file {
  std::string name; ///< relative to tests/sql: what diagnostics call it
  std::vector<std::string> lines;
  std::vector<record> records;
  std::vector<std::string> problems; ///< the file itself is malformed
};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string{s.substr(b, e - b + 1)};
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string{s}};
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

bool is_directive(const std::string& line) {
  static const std::set<std::string> keys{"statement", "query",     "error",
                                          "input",     "watermark", "end"};
  auto w = words(line);
  return !w.empty() && keys.count(w[0]) > 0;
}

/// A row line without its trailing `-- comment` (outside quotes).
std::string strip_row_comment(const std::string& line) {
  bool quoted = false;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] == '"')
      quoted = !quoted;
    else if (!quoted && line[i] == '-' && line[i + 1] == '-' &&
             (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return trim(std::string_view{line}.substr(0, i));
  }
  return trim(line);
}

test_file parse_test_file(const fs::path& path, std::string name) {
  test_file f;
  f.name = std::move(name);
  std::ifstream in{path};
  for (std::string l; std::getline(in, l);)
    f.lines.push_back(l);
  auto& ls = f.lines;
  size_t i = 0; // 0-based index of the next line
  auto problem = [&](size_t line, const std::string& what) {
    f.problems.push_back(f.name + ":" + std::to_string(line) + ": " + what);
  };
  // Reads SQL lines up to a blank line, `----` or the end; returns true
  // when it stopped at `----`.
  auto read_sql = [&](record& r) {
    r.sql_first = i + 1;
    while (i < ls.size() && !trim(ls[i]).empty() && trim(ls[i]) != "----")
      ++i;
    r.sql_last = i;
    if (r.sql_last < r.sql_first)
      problem(r.line, "no SQL after the directive");
    if (i < ls.size() && trim(ls[i]) == "----") {
      ++i;
      return true;
    }
    return false;
  };
  std::string input_table;
  while (i < ls.size()) {
    auto line = trim(ls[i]);
    auto lineno = i + 1;
    if (line.empty() || line[0] == '#') {
      input_table.clear();
      ++i;
      continue;
    }
    auto w = words(line);
    record r;
    r.line = lineno;
    if (!is_directive(line)) {
      if (input_table.empty()) {
        problem(lineno, "expected a directive, got: " + line);
        ++i;
        continue;
      }
      r.kind = rec_kind::row;
      r.table = input_table;
      r.text = strip_row_comment(ls[i]);
      f.records.push_back(std::move(r));
      ++i;
      continue;
    }
    ++i;
    if (w[0] == "input" && w.size() == 2) {
      input_table = w[1];
      continue;
    }
    if (w[0] == "watermark" && w.size() >= 3) {
      r.kind = rec_kind::watermark;
      r.table = w[1];
      auto rest = trim(std::string_view{line}.substr(
          line.find(w[1], w[0].size()) + w[1].size()));
      auto ms = columnar::parse_timestamp(rest);
      if (!ms) {
        problem(lineno, "bad watermark time: " + rest);
        continue;
      }
      r.watermark_ms = *ms;
      f.records.push_back(std::move(r));
      continue;
    }
    if (w[0] == "end" && w.size() == 2) {
      r.kind = rec_kind::end;
      r.table = w[1];
      input_table.clear();
      f.records.push_back(std::move(r));
      continue;
    }
    input_table.clear();
    if (w[0] == "statement" && w.size() == 2 && w[1] == "ok") {
      r.kind = rec_kind::statement_ok;
      if (read_sql(r))
        problem(lineno, "statement ok has no expected output");
      f.records.push_back(std::move(r));
      continue;
    }
    if ((w[0] == "statement" && w.size() == 2 && w[1] == "error") ||
        (w[0] == "error" && w.size() == 1)) {
      r.kind = w[0] == "error" ? rec_kind::error : rec_kind::statement_error;
      if (!read_sql(r) || i >= ls.size() || trim(ls[i]).empty()) {
        problem(lineno, "an error needs `----` and the expected line");
        continue;
      }
      r.expected = trim(ls[i++]);
      f.records.push_back(std::move(r));
      continue;
    }
    if (w[0] == "query") {
      r.kind = rec_kind::query;
      bool ok = true;
      for (size_t k = 1; k < w.size(); ++k) {
        if (w[k] == "rowsort")
          r.rowsort = true;
        else if (w[k].rfind("late=", 0) == 0)
          r.late = std::stoull(w[k].substr(5));
        else
          ok = false;
      }
      if (!ok) {
        problem(lineno, "unknown query option in: " + line);
        continue;
      }
      if (!read_sql(r)) {
        problem(lineno, "a query needs `----` and its expected rows");
        continue;
      }
      while (i < ls.size() && !trim(ls[i]).empty())
        r.rows.push_back(trim(ls[i++]));
      f.records.push_back(std::move(r));
      continue;
    }
    problem(lineno, "malformed directive: " + line);
  }
  return f;
}

/// The script compiled for a record: the file's text with every line blanked
/// but those of `ranges` (statements in effect), so that diagnostics carry
/// the test file's own lines and columns. A statement that does not end
/// with `;` gets one.
std::string compose(const test_file& f,
                    const std::vector<std::pair<size_t, size_t>>& ranges) {
  std::vector<std::string> out(f.lines.size() + 1);
  for (auto [first, last] : ranges) {
    for (auto l = first; l <= last; ++l)
      out[l - 1] = f.lines[l - 1];
    // The `;` ends the statement's last line, so that an error at the end
    // of the statement points there; after a `--` comment, the next line.
    auto t = trim(f.lines[last - 1]);
    if (t.empty() || t.back() != ';') {
      if (t.find("--") == std::string::npos)
        out[last - 1] += ";";
      else
        out[last] = ";";
    }
  }
  std::string text;
  for (auto& l : out) {
    text += l;
    text += '\n';
  }
  return text;
}

/// The environment the test scripts see through `${env:NAME}`.
std::optional<std::string> test_env(std::string_view name) {
  if (name == "SQLT_SEP")
    return std::string{","};
  if (name == "SQLT_COLLECT")
    return std::string{"collect"};
  return std::nullopt;
}

struct compiled {
  std::string text;
  caf::expected<sql::compiled_script> script{caf::error{}};
  std::vector<sql::sql_diagnostic> diags;

  std::string rendered() const { return render(diags, text); }
};

compiled compile(const test_file& f,
                 const std::vector<std::pair<size_t, size_t>>& ranges,
                 const table_registry& tables, uint32_t parallelism) {
  compiled c;
  c.text = compose(f, ranges);
  sql::compile_options opts;
  opts.parallelism = parallelism;
  opts.getenv = test_env;
  c.script =
      sql::compile_script(c.text, f.name, expr::function_registry::builtin(),
                          tables.infos(), opts, c.diags);
  return c;
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

std::string joined(const std::vector<std::string>& rows) {
  std::string out;
  for (auto& r : rows)
    out += "  " + r + "\n";
  return out.empty() ? "  (no rows)\n" : out;
}

/// What running the jobs of one query gave.
struct run_result {
  std::string failure; ///< empty: the jobs ended well
  std::vector<std::string> rows;
  uint64_t late_rows = 0;
  uint64_t rows_given = 0; ///< rows of the `values` tables, per scan
  uint64_t rows_read = 0;  ///< rows the scans read (their metrics)
};

#if SLUICE_JOB_RUNNER
constexpr bool can_run_jobs = true;

run_result run_jobs(std::vector<job_spec> jobs, const table_registry& tables,
                    test::test_table_data& data) {
  run_result res;
  std::map<std::string, uint32_t> readers;
  std::vector<std::string> sinks;
  std::set<std::string> scans; ///< metric names of scan instances
  for (auto& j : jobs)
    for (auto& s : j.stages) {
      if (auto* sc = std::get_if<scan_stage>(&s.core)) {
        readers[sc->table.name] += s.parallelism;
        for (uint32_t i = 0; i < s.parallelism; ++i)
          scans.insert(j.name + "/" + s.name + "#" + std::to_string(i));
        res.rows_given += data.row_count(sc->table.name);
        if (sc->table.connector == "values" && !data.ended(sc->table.name))
          res.failure += "values table " + sc->table.name +
                         " has no `end`: the job would never end\n";
      } else if (auto* sk = std::get_if<sink_stage>(&s.core)) {
        if (std::find(sinks.begin(), sinks.end(), sk->table.name) ==
            sinks.end())
          sinks.push_back(sk->table.name);
      }
    }
  if (!res.failure.empty())
    return res;
  data.start_run(std::move(readers));
  job_run_options ro;
  ro.threads = 2;
  auto runner = job_runner::make(std::move(jobs), tables,
                                 expr::function_registry::builtin(), ro);
  if (!runner) {
    res.failure = "job_runner::make: " + describe(runner.error());
    return res;
  }
  if (auto err = (*runner)->start()) {
    res.failure = "start: " + describe(err);
    return res;
  }
  // wait() on this thread (it ends the actor system); a watchdog stops the
  // jobs if they do not end in time.
  auto* r = runner->get();
  std::mutex mtx;
  std::condition_variable cv;
  bool ended = false;
  bool timed_out = false;
  std::thread watchdog{[&] {
    std::unique_lock guard{mtx};
    if (!cv.wait_for(guard, std::chrono::seconds{30}, [&] { return ended; })) {
      timed_out = true;
      r->stop();
    }
  }};
  auto err = r->wait();
  {
    std::lock_guard guard{mtx};
    ended = true;
  }
  cv.notify_all();
  watchdog.join();
  if (timed_out)
    res.failure = "the jobs did not end within 30 s (stopped)";
  else if (err)
    res.failure = "the jobs failed: " + describe(err);
  for (auto& m : r->metrics().snapshot()) {
    if (m.kind != "operator")
      continue;
    res.late_rows += m.late_rows;
    if (scans.count(m.name) > 0)
      res.rows_read += m.events_in;
  }
  for (auto& t : sinks) {
    auto rows = data.collected(t);
    res.rows.insert(res.rows.end(), rows.begin(), rows.end());
  }
  return res;
}
#else
constexpr bool can_run_jobs = false;

run_result run_jobs(std::vector<job_spec>, const table_registry&,
                    test::test_table_data&) {
  return {};
}
#endif

/// The test files under tests/sql, sorted, with their names relative to it.
std::vector<std::pair<fs::path, std::string>> test_files() {
  fs::path root = fs::path{SLUICE_SOURCE_DIR} / "tests" / "sql";
  std::vector<std::pair<fs::path, std::string>> out;
  for (auto& e : fs::recursive_directory_iterator{root})
    if (e.is_regular_file() && e.path().extension() == ".test")
      out.emplace_back(e.path(), e.path().lexically_relative(root).string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Runs one test file (called inside its section).
void run_file(const test_file& f) {
  for (auto& p : f.problems)
    FAIL_CHECK(p);
  auto data = std::make_shared<test::test_table_data>();
  auto tables = table_registry::builtin();
  test::add_test_tables(tables, data);
  std::vector<std::pair<size_t, size_t>> in_effect;
  size_t jobs_before = 0;
  for (auto& r : f.records) {
    auto where = f.name + ":" + std::to_string(r.line);
    switch (r.kind) {
    case rec_kind::row:
      data->add_row(r.table, r.text);
      break;
    case rec_kind::watermark:
      data->add_watermark(r.table, r.watermark_ms);
      break;
    case rec_kind::end:
      data->end(r.table);
      break;
    case rec_kind::statement_ok: {
      auto ranges = in_effect;
      ranges.emplace_back(r.sql_first, r.sql_last);
      auto c = compile(f, ranges, tables, 1);
      DYNAMIC_SECTION(where << " statement ok") {
        INFO(c.rendered());
        CHECK(c.diags.empty());
        if (!c.script)
          FAIL_CHECK(describe(c.script.error()));
      }
      // The file says the statement is good: later records build on it.
      in_effect = std::move(ranges);
      if (c.script)
        jobs_before = c.script->jobs.size();
      break;
    }
    case rec_kind::statement_error:
    case rec_kind::error: {
      DYNAMIC_SECTION(where << " error") {
        auto ranges = in_effect;
        ranges.emplace_back(r.sql_first, r.sql_last);
        auto c = compile(f, ranges, tables, 1);
        INFO("every diagnostic:\n" << c.rendered());
        if (!c.diags.empty())
          CHECK(first_line(render(c.diags.front(), c.text)) == r.expected);
        else if (!c.script)
          CHECK(describe(c.script.error()) == r.expected);
        else
          FAIL_CHECK("the script compiled; expected: " << r.expected);
      }
      break;
    }
    case rec_kind::query: {
      DYNAMIC_SECTION(where << " query") {
        auto ranges = in_effect;
        ranges.emplace_back(r.sql_first, r.sql_last);
        auto expected = r.rows;
        if (r.rowsort)
          std::sort(expected.begin(), expected.end());
        for (uint32_t p : {1u, 2u}) {
          INFO("parallelism " << p);
          auto c = compile(f, ranges, tables, p);
          INFO(c.rendered());
          REQUIRE(c.diags.empty());
          if (!c.script)
            FAIL(describe(c.script.error()));
          auto& jobs = c.script->jobs;
          REQUIRE(jobs.size() > jobs_before);
          std::vector<job_spec> mine(jobs.begin() + jobs_before, jobs.end());
          for (auto& j : mine) {
            auto problems = validate(j);
            INFO(to_text(j));
            CHECK(problems.empty());
          }
          if (!can_run_jobs)
            continue;
          std::string plans;
          for (auto& j : mine)
            plans += to_text(j);
          auto res = run_jobs(std::move(mine), tables, *data);
          INFO("plan:\n" << plans);
          if (!res.failure.empty())
            FAIL(res.failure);
          auto got = res.rows;
          if (r.rowsort)
            std::sort(got.begin(), got.end());
          INFO("expected:\n" << joined(expected) << "got:\n" << joined(got));
          CHECK(got == expected);
          // The scans read every row the file gave: none was lost before an
          // operator could see it.
          CHECK(res.rows_read == res.rows_given);
          if (r.late)
            CHECK(res.late_rows == *r.late);
        }
      }
      break;
    }
    }
  }
}

} // namespace

TEST_CASE("SQL test files give their expected rows and errors", "[sql-file]") {
  auto files = test_files();
  REQUIRE(!files.empty());
  static bool warned = false;
  if (!can_run_jobs && !std::exchange(warned, true))
    WARN("the engine has no job runner yet: queries are compiled, not run");
  for (auto& [path, name] : files) {
    DYNAMIC_SECTION(name) {
      run_file(parse_test_file(path, name));
    }
  }
}

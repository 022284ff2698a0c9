#include "sql/sample.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "runtime/errors.hpp"

namespace sluice::sql {

namespace {

/// Where each table a job reads is first read (in the order of the INSERTs).
void collect_reads(
    const rel& r, const bound_script& bound, const std::string& insert,
    std::map<std::string, std::pair<sql_position, std::string>>& first_read) {
  if ((r.kind == rel_kind::scan || r.kind == rel_kind::lookup_join) &&
      r.table >= 0 && static_cast<size_t>(r.table) < bound.tables.size())
    first_read.try_emplace(bound.tables[static_cast<size_t>(r.table)].name,
                           r.where, insert);
  for (auto& in : r.inputs)
    collect_reads(*in, bound, insert, first_read);
}

const option_spec* find_spec(const connector_info& info, std::string_view key) {
  for (auto& s : info.options)
    if (s.name == key)
      return &s;
  return nullptr;
}

option_def made_option(std::string key, std::string value,
                       const option_def& anchor) {
  option_def o;
  o.key = std::move(key);
  o.key_where = anchor.key_where;
  o.value = std::move(value);
  o.value_where = anchor.value_where;
  return o;
}

/// The `connector` option of `ct`, or one placed at the table's name (the
/// analysis refused a table without one already).
option_def anchor_of(const create_table_stmt& ct) {
  for (auto& o : ct.options)
    if (o.key == "connector")
      return o;
  option_def o;
  o.key = "connector";
  o.key_where = ct.name.where;
  o.value_where = ct.name.where;
  return o;
}

/// The options of a sampled table: the filesystem connector's, plus the
/// declared ones of the sample's format that it knows.
std::vector<option_def> source_options(const create_table_stmt& ct,
                                       const table_spec* declared,
                                       const sample_table& s,
                                       const connector_info& fs) {
  auto anchor = anchor_of(ct);
  auto format = sample_format(s.path);
  std::vector<option_def> out;
  out.push_back(made_option("connector", "filesystem", anchor));
  out.push_back(made_option("path", s.path, anchor));
  out.push_back(made_option("format", format, anchor));
  if (!s.dead_letter.empty() && find_spec(fs, "dead-letter.path"))
    out.push_back(made_option("dead-letter.path", s.dead_letter, anchor));
  // The declared format, after ${env:NAME}: `format`, or Flink's
  // `value.format` of a topic's value (its options are `value.<format>.*`).
  auto declares = [&](const char* key) {
    if (declared == nullptr)
      return false;
    auto i = declared->options.find(key);
    return i != declared->options.end() && i->second == format;
  };
  // The prefix of the options kept, and how much of it a kept key drops.
  std::vector<std::pair<std::string, size_t>> prefixes;
  if (declares("format"))
    prefixes.emplace_back(format + ".", 0);
  if (declares("value.format"))
    prefixes.emplace_back("value." + format + ".", 6);
  for (auto& o : ct.options) {
    for (auto& [prefix, drop] : prefixes) {
      if (!o.key.starts_with(prefix))
        continue;
      auto key = o.key.substr(drop);
      auto taken = std::any_of(out.begin(), out.end(),
                               [&](auto& x) { return x.key == key; });
      if (find_spec(fs, key) != nullptr && !taken) {
        auto kept = o;
        kept.key = std::move(key);
        out.push_back(std::move(kept));
      }
    }
  }
  return out;
}

} // namespace

std::string sample_format(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return "csv";
  auto ext = path.substr(dot + 1);
  for (auto& ch : ext)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "json" || ext == "jsonl" ? "json" : "csv";
}

caf::error apply_samples(parsed_script& parsed, const bound_script& bound,
                         const sample_options& samples,
                         const connector_infos& connectors,
                         std::vector<sql_diagnostic>& diags) {
  auto fs = connectors.find("filesystem");
  auto print = connectors.find("print");
  if (fs == connectors.end() || print == connectors.end())
    return make_error(config_errc::invalid,
                      "a run on samples needs the filesystem and print "
                      "connectors");
  std::set<std::string> written;
  std::map<std::string, std::pair<sql_position, std::string>> first_read;
  for (auto& ins : bound.inserts) {
    written.insert(ins.sink.name);
    if (ins.query)
      collect_reads(*ins.query, bound, ins.sink.name, first_read);
  }
  if (auto i = bound.settings.find("sluice.late-rows.table");
      i != bound.settings.end() && !i->second.empty())
    written.insert(i->second);
  std::set<std::string> views;
  for (auto& st : parsed.statements)
    if (auto* cv = std::get_if<create_view_stmt>(&st.body))
      views.insert(cv->name.name);
  std::map<std::string, const sample_table*> by_table;
  for (auto& s : samples.tables) {
    auto flag = fmt::format("--sample {}={}", s.table, s.path);
    auto declared = std::any_of(bound.tables.begin(), bound.tables.end(),
                                [&](auto& t) { return t.name == s.table; });
    if (!declared) {
      if (views.contains(s.table))
        return make_error(config_errc::invalid,
                          fmt::format("{}: '{}' is a view; sample the tables "
                                      "it reads",
                                      flag, s.table));
      std::string names;
      for (auto& t : bound.tables)
        names += (names.empty() ? "" : ", ") + t.name;
      return make_error(
          config_errc::invalid,
          fmt::format("{}: the script declares no table '{}' (its tables: "
                      "{})",
                      flag, s.table, names.empty() ? "none" : names));
    }
    if (written.contains(s.table))
      return make_error(config_errc::invalid,
                        fmt::format("{}: the script writes table '{}', whose "
                                    "rows a run on samples prints; it cannot "
                                    "read a sample too",
                                    flag, s.table));
    if (!by_table.emplace(s.table, &s).second)
      return make_error(
          config_errc::invalid,
          fmt::format("{}: table '{}' has a sample already", flag, s.table));
  }
  // Reported in the order of the script.
  std::vector<std::pair<sql_position, std::string>> missing;
  for (auto& [table, read] : first_read)
    if (!by_table.contains(table))
      missing.emplace_back(read.first, table);
  std::sort(missing.begin(), missing.end(),
            [](auto& x, auto& y) { return x.first.offset < y.first.offset; });
  for (auto& [where, table] : missing)
    diags.push_back(
        {where, diag_code::no_sample,
         fmt::format("table '{}' is read by INSERT INTO {} but has no sample: "
                     "add --sample {}=FILE (a run on samples reads files "
                     "only, so that it ends)",
                     table, first_read.at(table).second, table)});
  for (auto& st : parsed.statements) {
    auto* ct = std::get_if<create_table_stmt>(&st.body);
    if (ct == nullptr)
      continue;
    if (auto i = by_table.find(ct->name.name); i != by_table.end()) {
      const table_spec* declared = nullptr;
      for (auto& t : bound.tables)
        if (declared == nullptr && t.name == ct->name.name)
          declared = &t;
      ct->options = source_options(*ct, declared, *i->second, fs->second);
    } else if (written.contains(ct->name.name)) {
      auto anchor = anchor_of(*ct);
      std::vector<option_def> out;
      out.push_back(made_option("connector", "print", anchor));
      if (written.size() > 1)
        out.push_back(made_option("print-identifier", ct->name.name, anchor));
      ct->options = std::move(out);
    }
  }
  return {};
}

} // namespace sluice::sql

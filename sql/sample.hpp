#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "runtime/job/connector_info.hpp"
#include "sql/ast.hpp"
#include "sql/diagnostics.hpp"
#include "sql/logical_plan.hpp"

/// A run on sample files (`sluice sql --sample TABLE=FILE`): the script's
/// source tables read small files and the tables it writes print their
/// rows, so that a user sees what the script would write.
namespace sluice::sql {

/// One `--sample TABLE=FILE`.
struct sample_table {
  std::string table; ///< a table the script declares, as written there
  std::string path;  ///< the file (or directory) to read instead
  /// Where its rows that do not parse go; empty: the filesystem
  /// connector's default (`<table>.dead-letter` in the working directory).
  std::string dead_letter;
};

/// The samples of a run.
struct sample_options {
  std::vector<sample_table> tables;
};

/// "csv" or "json": the format of a sample file, by its extension
/// (`.json` and `.jsonl`: JSON lines; anything else: CSV).
std::string sample_format(const std::string& path);

/// Rewrites the WITH options of the CREATE TABLE statements in `parsed`
/// for a run on samples. `bound` is the script as written, analyzed
/// without errors: its INSERTs say which tables the jobs read and write.
///
/// - A sampled table gets `'connector' = 'filesystem'`, `'path'`, `'format'`
///   (sample_format) and `'dead-letter.path'` when set. It keeps its
///   columns, computed columns, WATERMARK and PRIMARY KEY, and of its other
///   options only those of the sample's format that the filesystem
///   connector knows (`csv.*` or `json.*`; Flink's `value.csv.*` as
///   `csv.*`), and only when the table declared that same format
///   (`'format'` or `'value.format'`): the rest belonged to its connector.
/// - A table an INSERT writes, and the late-rows table, gets `'connector' =
///   'print'` and no other option but, when the script writes several
///   tables, `'print-identifier'` = its name.
///
/// The new options sit at the position of the table's old `connector`
/// option, so diagnostics still point into the script. A table a job
/// reads without a sample is a `no_sample` diagnostic at the place the job
/// reads it. A sample of a table the script does not declare, or writes,
/// or a table sampled twice, is a `config_errc::invalid` error naming it.
caf::error apply_samples(parsed_script& parsed, const bound_script& bound,
                         const sample_options& samples,
                         const connector_infos& connectors,
                         std::vector<sql_diagnostic>& diags);

} // namespace sluice::sql

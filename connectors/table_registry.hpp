#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/table_connector.hpp"
#include "runtime/job/connector_info.hpp"

namespace sluice {

/// The table connector types SQL jobs can use (`'connector' = 'NAME'`):
/// the built-in ones and those an embedding program adds. A name may have
/// a source type, a sink type or both.
class table_registry {
 public:
  /// A registry with every built-in table connector: `filesystem` and
  /// `topic` (sources and sinks), `nexmark` (source), `print`, `blackhole`
  /// and `mariadb` (sinks); `mariadb` and `filesystem` lookups.
  static table_registry builtin();

  /// Adds or replaces the source type of `x.name`.
  void add(table_source_type x);

  /// Adds or replaces the sink type of `x.name`.
  void add(table_sink_type x);

  /// Adds or replaces the lookup type of `x.name`.
  void add(table_lookup_type x);

  /// The lookup type called `name`, or null.
  const table_lookup_type* find_lookup(std::string_view name) const;

  /// The source type called `name`, or null.
  const table_source_type* find_source(std::string_view name) const;

  /// The sink type called `name`, or null.
  const table_sink_type* find_sink(std::string_view name) const;

  /// What the SQL analyzer may know of each connector: one entry per name,
  /// the source's and the sink's options merged (each name once; the
  /// source's spec wins when both declare it), `accepts_updates` from the
  /// sink type.
  connector_infos infos() const;

 private:
  std::map<std::string, table_source_type, std::less<>> sources_;
  std::map<std::string, table_sink_type, std::less<>> sinks_;
  std::map<std::string, table_lookup_type, std::less<>> lookups_;
};

// Each built-in table connector's file defines its type description.
table_source_type filesystem_table_source_type();
table_sink_type filesystem_table_sink_type();
table_source_type nexmark_table_source_type();
table_sink_type print_table_sink_type();
table_sink_type blackhole_table_sink_type();
table_sink_type mariadb_table_sink_type();
table_lookup_type mariadb_table_lookup_type();
table_lookup_type filesystem_table_lookup_type();
table_source_type topic_table_source_type();
table_sink_type topic_table_sink_type();

} // namespace sluice

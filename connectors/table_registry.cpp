#include "connectors/table_registry.hpp"

#include <algorithm>

namespace sluice {

namespace {

void merge_options(std::vector<option_spec>& into,
                   const std::vector<option_spec>& from) {
  for (auto& spec : from)
    if (std::none_of(into.begin(), into.end(),
                     [&](const option_spec& x) { return x.name == spec.name; }))
      into.push_back(spec);
}

} // namespace

table_registry table_registry::builtin() {
  table_registry r;
  r.add(filesystem_table_source_type());
  r.add(filesystem_table_sink_type());
  r.add(nexmark_table_source_type());
  r.add(print_table_sink_type());
  r.add(blackhole_table_sink_type());
  r.add(mariadb_table_sink_type());
  r.add(mariadb_table_lookup_type());
  r.add(filesystem_table_lookup_type());
  r.add(topic_table_source_type());
  r.add(topic_table_sink_type());
  return r;
}

void table_registry::add(table_source_type x) {
  auto name = x.name;
  sources_.insert_or_assign(std::move(name), std::move(x));
}

void table_registry::add(table_sink_type x) {
  auto name = x.name;
  sinks_.insert_or_assign(std::move(name), std::move(x));
}

void table_registry::add(table_lookup_type x) {
  auto name = x.name;
  lookups_.insert_or_assign(std::move(name), std::move(x));
}

const table_lookup_type*
table_registry::find_lookup(std::string_view name) const {
  auto i = lookups_.find(name);
  return i == lookups_.end() ? nullptr : &i->second;
}

const table_source_type*
table_registry::find_source(std::string_view name) const {
  auto i = sources_.find(name);
  return i == sources_.end() ? nullptr : &i->second;
}

const table_sink_type* table_registry::find_sink(std::string_view name) const {
  auto i = sinks_.find(name);
  return i == sinks_.end() ? nullptr : &i->second;
}

connector_infos table_registry::infos() const {
  connector_infos result;
  for (auto& [name, type] : sources_) {
    auto& info = result[name];
    info.name = name;
    info.source = true;
    merge_options(info.options, type.options);
  }
  for (auto& [name, type] : sinks_) {
    auto& info = result[name];
    info.name = name;
    info.sink = true;
    info.accepts_updates = type.accepts_updates;
    info.updates_need_key = type.updates_need_key;
    merge_options(info.options, type.options);
  }
  for (auto& [name, type] : lookups_) {
    auto& info = result[name];
    info.name = name;
    info.lookup = true;
    merge_options(info.options, type.options);
  }
  return result;
}

} // namespace sluice

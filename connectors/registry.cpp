#include "connectors/registry.hpp"

namespace sluice {

namespace {

template <class Map>
std::vector<std::string> names_of(const Map& m) {
  std::vector<std::string> result;
  for (auto& [name, _] : m)
    result.push_back(name);
  return result;
}

template <class Map>
auto find_in(const Map& m, const std::string& name)
    -> decltype(&m.begin()->second) {
  auto i = m.find(name);
  return i == m.end() ? nullptr : &i->second;
}

} // namespace

connector_registry connector_registry::builtin() {
  connector_registry r;
  r.add(generator_source_type());
  r.add(exec_source_type());
  r.add(taildir_source_type());
  r.add(tcp_source_type());
  r.add(console_sink_type());
  r.add(file_sink_type());
  r.add(null_sink_type());
  r.add(forward_source_type());
  r.add(forward_sink_type());
  r.add(topic_source_type());
  r.add(topic_sink_type());
  for (auto& t : builtin_interceptor_types())
    r.add(std::move(t));
  return r;
}

void connector_registry::add(source_type x) {
  auto name = x.name;
  sources_[name] = std::move(x);
}

void connector_registry::add(sink_type x) {
  auto name = x.name;
  sinks_[name] = std::move(x);
}

void connector_registry::add(interceptor_type x) {
  auto name = x.name;
  interceptors_[name] = std::move(x);
}

const source_type*
connector_registry::find_source(const std::string& name) const {
  return find_in(sources_, name);
}

const sink_type* connector_registry::find_sink(const std::string& name) const {
  return find_in(sinks_, name);
}

const interceptor_type*
connector_registry::find_interceptor(const std::string& name) const {
  return find_in(interceptors_, name);
}

std::vector<std::string> connector_registry::source_names() const {
  return names_of(sources_);
}

std::vector<std::string> connector_registry::sink_names() const {
  return names_of(sinks_);
}

std::vector<std::string> connector_registry::interceptor_names() const {
  return names_of(interceptors_);
}

} // namespace sluice

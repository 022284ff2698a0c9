#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "connectors/interceptor.hpp"
#include "connectors/sink_connector.hpp"
#include "connectors/source_connector.hpp"
#include "runtime/options.hpp"

namespace sluice {

/// How to build a source connector of one type, and the options it takes.
struct source_type {
  std::string name;
  std::string help;
  /// False for connectors that never block (generators): their actor runs
  /// on the shared scheduler instead of a thread of its own.
  bool blocking = true;
  std::vector<option_spec> options;
  std::function<caf::expected<source_connector_ptr>(const connector_context&,
                                                    const sluice::options&)>
      make;
};

/// How to build a sink connector of one type, and the options it takes.
struct sink_type {
  std::string name;
  std::string help;
  /// False for connectors that never block: see source_type::blocking.
  bool blocking = true;
  std::vector<option_spec> options;
  std::function<caf::expected<sink_connector_ptr>(const connector_context&,
                                                  const sluice::options&)>
      make;
};

/// How to build an interceptor of one type, and the options it takes.
struct interceptor_type {
  std::string name;
  std::string help;
  std::vector<option_spec> options;
  std::function<caf::expected<interceptor_ptr>(const sluice::options&)> make;
};

/// The connector types an engine knows: the built-in ones and the ones an
/// embedding program adds.
class connector_registry {
 public:
  /// A registry with every built-in connector type.
  static connector_registry builtin();

  void add(source_type x);
  void add(sink_type x);
  void add(interceptor_type x);

  const source_type* find_source(const std::string& name) const;
  const sink_type* find_sink(const std::string& name) const;
  const interceptor_type* find_interceptor(const std::string& name) const;

  std::vector<std::string> source_names() const;
  std::vector<std::string> sink_names() const;
  std::vector<std::string> interceptor_names() const;

 private:
  std::map<std::string, source_type> sources_;
  std::map<std::string, sink_type> sinks_;
  std::map<std::string, interceptor_type> interceptors_;
};

// Each built-in connector's file defines its type description.
source_type generator_source_type();
source_type exec_source_type();
source_type taildir_source_type();
source_type tcp_source_type();
sink_type console_sink_type();
sink_type file_sink_type();
sink_type null_sink_type();
source_type forward_source_type();
sink_type forward_sink_type();
source_type topic_source_type();
sink_type topic_sink_type();
std::vector<interceptor_type> builtin_interceptor_types();

} // namespace sluice

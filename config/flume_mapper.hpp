#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/flume_properties.hpp"
#include "config/topology.hpp"

namespace sluice {

class connector_registry;

} // namespace sluice

// The mapping of one Flume agent to a topology, shared by the files that
// map each kind of component.
namespace sluice::flume {

/// `s` in lower case (ASCII).
std::string lower(std::string s);

/// A word of a list value ("r1 r2") and where it was written.
struct item {
  std::string text;
  source_position where;
};

/// One declared component of the agent and its properties by key tail
/// ("type", "sink.directory"), marked as they are mapped; what is left
/// unmapped is an error.
struct component {
  std::string name;
  std::string kind;   ///< "source", "channel", "sink" or "sink group"
  std::string prefix; ///< "a1.sources.r1."
  source_position where;
  std::map<std::string, const property*> props;
  std::set<std::string> taken;
  std::set<std::string> asked; ///< tails looked for, for suggestions
};

/// How a Flume value becomes a sluice option value.
enum class conv {
  string,
  integer, ///< also sizes in bytes, as Flume writes them
  boolean,
  millis,  ///< an integer of milliseconds
  seconds, ///< an integer of seconds, stored as milliseconds
  port,    ///< an integer from 0 to 65535
};

/// A Flume key that maps to a sluice option one to one.
struct rule {
  std::string flume;
  std::string sluice;
  conv how;
};

/// A Flume key accepted without effect, and why.
struct ignored {
  std::string flume;
  std::string why;
};

class mapper {
 public:
  mapper(std::string file, std::string agent,
         const connector_registry& registry, std::vector<diagnostic>& problems,
         std::vector<diagnostic>& notes)
      : file_(std::move(file)), agent_(std::move(agent)), registry_(registry),
        problems_(problems), notes_(notes) {}

  topology_spec run(const std::vector<property>& props);

  /// Where a sluice option of a component came from, for validation
  /// messages: the Flume property that set it, else the declaration.
  source_position key_position(const std::string& component,
                               const std::string& key) const;

  /// True for validation's "missing required option" of an option whose
  /// Flume value the mapping already refused (one error, not two).
  bool refused(const std::string& message) const {
    for (auto& key : unset_) {
      auto nl = key.find('\n');
      if (message.find("'" + key.substr(0, nl) +
                       "': missing required option '" + key.substr(nl + 1) +
                       "'") != std::string::npos)
        return true;
    }
    return false;
  }

 private:
  // Reading values (flume_agent.cpp).
  void error(const source_position& where, std::string msg);
  void note(const source_position& where, std::string msg);
  const property* take(component& c, const std::string& tail);
  std::vector<std::pair<std::string, const property*>>
  take_prefix(component& c, const std::string& prefix);
  void take_all(component& c);
  std::string full_key(const component& c, const std::string& tail) const;
  std::vector<item> list(const property& p, bool commas = false) const;
  std::string text(const property& p) const;
  std::optional<int64_t> integer(const property& p, int64_t min, int64_t max);
  std::optional<bool> boolean(const property& p);
  bool convert(const property& p, conv how, option_value& out);
  void apply(component& c, const std::vector<rule>& rules, options& out);
  void apply(component& c, const std::vector<ignored>& keys);
  void set_origin(const component& c, const std::string& option,
                  const property& p);
  void leftovers(component& c, const std::string& what);
  /// Reports that `c` lacks the property `tail` unless the file has it.
  void needs(component& c, const std::string& what, const std::string& tail,
             const std::string& why = "");
  /// Reports a message of `check_options` ("option 'x' must ...") at the
  /// Flume property that set x, named by its Flume key.
  void option_error(const std::string& component, const std::string& what,
                    const source_position& fallback, const std::string& msg);
  std::optional<size_t> batch(component& c, const std::string& tail);
  void check_connector(const std::string& kind, const std::string& name,
                       const std::string& type, options& opts,
                       const source_position& where);

  // Components (flume_channels.cpp: channels and sink groups;
  // flume_components.cpp: sources, interceptors and sinks).
  void map_channel(component& c, topology_spec& out);
  void map_source(component& c, topology_spec& out);
  void map_interceptors(component& c, source_spec& s);
  void map_sink(component& c, topology_spec& out);
  /// A DatahubSink's properties to a topic sink's options; its batch size.
  std::optional<size_t> map_datahub(component& c, sink_spec& s);
  void map_group(component& c, topology_spec& out);
  void check_groups(topology_spec& out);
  void finish_batches(topology_spec& out);

  void collect(const std::vector<property>& props);
  void declare(const property& p, const std::string& kind,
               std::map<std::string, component>& into,
               std::vector<std::string>& order);

  std::string file_;
  std::string agent_;
  const connector_registry& registry_;
  std::vector<diagnostic>& problems_;
  /// "component\noption" of options whose Flume value was refused.
  std::set<std::string> unset_;
  /// Groups whose mapping reported an error: validation skips them.
  std::set<std::string> bad_groups_;
  std::vector<diagnostic>& notes_;
  std::map<std::string, component> sources_, channels_, sinks_, groups_;
  std::vector<std::string> source_order_, channel_order_, sink_order_,
      group_order_;
  /// The property that set each option: "name\noption" -> property.
  std::map<std::string, const property*> origins_;
  /// Batch sizes not written in the file: Flume's default, capped at the
  /// channel's transaction capacity.
  std::map<std::string, size_t> source_batches_, sink_batches_;
  std::map<std::string, std::string> group_of_; ///< sink -> group
  std::set<std::string> missing_; ///< components said to lack a property
  /// Properties accepted without effect, named (never shown) once.
  std::vector<const property*> unused_;
};

} // namespace sluice::flume

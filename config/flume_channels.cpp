// Flume channels and sink groups to sluice channels and sink groups.
#include <algorithm>

#include "config/flume_mapper.hpp"
#include "config/topology_detail.hpp"

namespace sluice::flume {

using detail::suggestion;

// -- channels ---------------------------------------------------------------

void mapper::map_channel(component& c, topology_spec& out) {
  channel_spec ch;
  ch.name = c.name;
  ch.where = c.where;
  auto* type = take(c, "type");
  if (!type) {
    error(c.where, "channel '" + c.name + "' has no type: set " +
                       full_key(c, "type") + " (memory or file)");
    take_all(c);
    return;
  }
  auto t = lower(text(*type));
  auto keep_alive = ignored{"keep-alive", "a full sluice channel slows its "
                                          "sources down instead of timing "
                                          "out their puts"};
  if (t == "memory") {
    ch.type = "memory";
    // Flume's defaults, not sluice's: the file means what it meant.
    ch.opts.set("capacity", int64_t{100});
    ch.opts.set("transaction_capacity", int64_t{100});
    apply(c,
          {{"capacity", "capacity", conv::integer},
           {"transactionCapacity", "transaction_capacity", conv::integer},
           {"byteCapacity", "byte_capacity", conv::integer}},
          ch.opts);
    apply(c, {keep_alive,
              {"byteCapacityBufferPercentage",
               "sluice counts the bytes of event bodies and headers"}});
  } else if (t == "file") {
    ch.type = "file";
    if (auto* dirs = take(c, "dataDirs")) {
      set_origin(c, "directory", *dirs);
      auto xs = list(*dirs, true);
      if (xs.empty())
        error(dirs->at(0), dirs->key + " must name a directory");
      else if (xs.size() > 1)
        error(xs[1].where, dirs->key + " names " + std::to_string(xs.size()) +
                               " directories; a sluice file channel keeps "
                               "its log in one");
      else
        ch.opts.set("directory", xs[0].text);
    } else {
      needs(c, "file channel", "dataDirs",
            ": the directory of its log (Flume's default under ~/.flume is "
            "not assumed)");
    }
    apply(c,
          {{"capacity", "capacity", conv::integer},
           {"transactionCapacity", "transaction_capacity", conv::integer},
           {"maxFileSize", "segment_size", conv::integer},
           {"minimumRequiredSpace", "min_free_space", conv::integer}},
          ch.opts);
    auto no_checkpoint = std::string{
        "sluice's file channel keeps its progress records in its log, in "
        "dataDirs, and has no separate checkpoint"};
    apply(c, {{"checkpointDir", no_checkpoint},
              {"backupCheckpointDir", no_checkpoint},
              {"useDualCheckpoints", no_checkpoint},
              {"checkpointInterval", no_checkpoint},
              {"checkpointOnClose", no_checkpoint},
              {"useFastReplay", no_checkpoint},
              keep_alive});
  } else {
    error(type->at(0), "channel type '" + text(*type) + "' of " + type->key +
                           " does not map; sluice has memory and file "
                           "channels");
    take_all(c);
    return;
  }
  leftovers(c, ch.type + " channel '" + c.name + "'");
  auto& specs = channel_options(ch.type);
  ch.opts.apply_fallbacks(specs);
  for (auto& msg : check_options(ch.opts, specs))
    option_error(c.name, ch.type + " channel '" + c.name + "'", c.where, msg);
  out.channels.push_back(std::move(ch));
}

// -- sink groups ------------------------------------------------------------

void mapper::map_group(component& c, topology_spec& out) {
  auto before = problems_.size();
  // A group the mapping already found wrong is left out of the topology,
  // so that validation does not report the same hole again in its terms.
  struct mark_bad {
    mapper& m;
    size_t before;
    const std::string& name;
    ~mark_bad() {
      if (m.problems_.size() > before)
        m.bad_groups_.insert(name);
    }
  } mark{*this, before, c.name};
  sink_group_spec g;
  g.name = c.name;
  g.where = c.where;
  std::vector<item> members;
  if (auto* p = take(c, "sinks")) {
    members = list(*p);
    std::set<std::string> seen;
    for (auto& m : members) {
      if (!seen.insert(m.text).second) {
        error(m.where, "sink '" + m.text + "' is listed twice in " + p->key);
        continue;
      }
      if (sinks_.count(m.text) == 0) {
        std::vector<std::string> known(sink_order_.begin(), sink_order_.end());
        error(m.where, "sink '" + m.text + "' of " + p->key +
                           " is not declared in " + agent_ + ".sinks" +
                           suggestion(m.text, known));
        continue;
      }
      auto [i, fresh] = group_of_.emplace(m.text, c.name);
      if (!fresh) {
        error(m.where, "sink '" + m.text + "' is already in sink group '" +
                           i->second + "'; a sink belongs to one group");
        continue;
      }
      g.sinks.push_back(m.text);
    }
    if (members.empty())
      error(p->at(0), p->key + " must list the group's sinks");
  } else {
    error(c.where, "sink group '" + c.name + "' has no sinks: set " +
                       full_key(c, "sinks"));
  }
  auto* type = take(c, "processor.type");
  auto t = type ? lower(text(*type)) : std::string{"default"};
  if (t == "failover") {
    g.type = "failover";
    g.opts.set("maxpenalty", int64_t{30'000});
    apply(c, {{"processor.maxpenalty", "maxpenalty", conv::millis}}, g.opts);
    std::map<int64_t, std::pair<std::string, const property*>> by_priority;
    for (auto& [sink, p] : take_prefix(c, "processor.priority.")) {
      if (std::find(g.sinks.begin(), g.sinks.end(), sink) == g.sinks.end()) {
        error(p->where, p->key + " sets a priority for '" + sink +
                            "', which is not a sink of group '" + c.name + "'");
        continue;
      }
      auto n = integer(*p, INT32_MIN, INT32_MAX);
      if (!n)
        continue;
      auto [i, fresh] = by_priority.emplace(*n, std::pair{sink, p});
      if (!fresh) {
        error(p->where,
              p->key + ": sinks '" + i->second.first + "' (line " +
                  std::to_string(i->second.second->where.line) + ") and '" +
                  sink + "' have the same priority " + std::to_string(*n) +
                  "; Flume silently drops one of them, sluice needs each "
                  "priority distinct");
        continue;
      }
      g.priorities[sink] = *n;
    }
    for (auto& m : members)
      if (g.priorities.count(m.text) == 0 &&
          std::find(g.sinks.begin(), g.sinks.end(), m.text) != g.sinks.end() &&
          c.props.count("processor.priority." + m.text) == 0)
        error(m.where, "sink '" + m.text + "' of failover group '" + c.name +
                           "' has no priority: set " +
                           full_key(c, "processor.priority." + m.text));
  } else if (t == "load_balance") {
    g.type = "load_balance";
    g.opts.set("selector", std::string{"round_robin"});
    g.opts.set("backoff", false);
    g.opts.set("max_timeout", int64_t{30'000});
    if (auto* p = take(c, "processor.selector")) {
      auto s = lower(text(*p));
      if (s == "round_robin" || s == "random")
        g.opts.set("selector", s);
      else
        error(p->at(0), p->key + " must be round_robin or random, got '" +
                            text(*p) +
                            "' (custom selector classes do not "
                            "map)");
      set_origin(c, "selector", *p);
    }
    apply(c,
          {{"processor.backoff", "backoff", conv::boolean},
           {"processor.selector.maxTimeOut", "max_timeout", conv::millis}},
          g.opts);
  } else {
    auto where = type ? type->at(0) : c.where;
    error(where, "sink group '" + c.name + "' needs " +
                     full_key(c, "processor.type") +
                     " = failover or load_balance" +
                     (type ? ", got '" + text(*type) + "'"
                           : std::string{" (Flume's 'default' processor runs "
                                         "one sink: leave the group out)"}));
    take_all(c);
    return;
  }
  leftovers(c, g.type + " sink group '" + c.name + "'");
  out.sink_groups.push_back(std::move(g));
}

void mapper::check_groups(topology_spec& out) {
  std::map<std::string, const sink_spec*> sinks;
  for (auto& s : out.sinks)
    sinks.emplace(s.name, &s);
  for (auto& g : out.sink_groups) {
    std::string channel, first;
    for (auto& m : g.sinks) {
      auto i = sinks.find(m);
      if (i == sinks.end() || i->second->channel.empty())
        continue;
      if (channel.empty()) {
        channel = i->second->channel;
        first = m;
      } else if (i->second->channel != channel) {
        bad_groups_.insert(g.name);
        error(key_position(m, "channel"),
              "sink '" + m + "' of group '" + g.name + "' drains channel '" +
                  i->second->channel + "' but '" + first + "' drains '" +
                  channel + "'; the sinks of a group share one channel");
      }
    }
  }
}

} // namespace sluice::flume

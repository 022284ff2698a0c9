// One Flume agent to a topology: the agent's properties, their values and
// the checks of the whole.
#include <algorithm>
#include <cctype>

#include "config/flume_mapper.hpp"
#include "config/flume_properties.hpp"
#include "config/topology_detail.hpp"
#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"

namespace sluice::flume {

namespace {

using detail::join;
using detail::message_of;
using detail::suggestion;

bool space(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\n' || c == '\r';
}

/// An error's message without the code that `describe` puts first.
} // namespace

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// -- reading values ---------------------------------------------------------

void mapper::error(const source_position& where, std::string msg) {
  problems_.push_back({where, std::move(msg)});
}

void mapper::note(const source_position& where, std::string msg) {
  notes_.push_back({where, std::move(msg)});
}

const property* mapper::take(component& c, const std::string& tail) {
  c.asked.insert(tail);
  auto i = c.props.find(tail);
  if (i == c.props.end())
    return nullptr;
  c.taken.insert(tail);
  return i->second;
}

std::vector<std::pair<std::string, const property*>>
mapper::take_prefix(component& c, const std::string& prefix) {
  std::vector<std::pair<std::string, const property*>> result;
  for (auto& [tail, p] : c.props)
    if (tail.starts_with(prefix) && tail.size() > prefix.size()) {
      c.taken.insert(tail);
      result.emplace_back(tail.substr(prefix.size()), p);
    }
  std::sort(result.begin(), result.end(), [](auto& x, auto& y) {
    return std::tie(x.second->where.line, x.second->where.column) <
           std::tie(y.second->where.line, y.second->where.column);
  });
  return result;
}

void mapper::take_all(component& c) {
  for (auto& [tail, _] : c.props)
    c.taken.insert(tail);
}

std::string mapper::full_key(const component& c,
                             const std::string& tail) const {
  return c.prefix + tail;
}

std::vector<item> mapper::list(const property& p, bool commas) const {
  std::vector<item> result;
  auto& v = p.value;
  size_t i = 0;
  auto sep = [&](char c) {
    return space(c) || (commas && c == ',');
  };
  while (i < v.size()) {
    while (i < v.size() && sep(v[i]))
      ++i;
    size_t start = i;
    while (i < v.size() && !sep(v[i]))
      ++i;
    if (i > start)
      result.push_back({v.substr(start, i - start), p.at(start)});
  }
  return result;
}

std::string mapper::text(const property& p) const {
  auto& v = p.value;
  size_t b = 0, e = v.size();
  while (b < e && space(v[b]))
    ++b;
  while (e > b && space(v[e - 1]))
    --e;
  return v.substr(b, e - b);
}

std::optional<int64_t> mapper::integer(const property& p, int64_t min,
                                       int64_t max) {
  auto t = text(p);
  size_t i = t.starts_with('-') || t.starts_with('+') ? 1 : 0;
  bool digits = i < t.size() && t.size() - i <= 18 &&
                std::all_of(t.begin() + static_cast<ptrdiff_t>(i), t.end(),
                            [](unsigned char c) { return std::isdigit(c); });
  if (!digits) {
    error(p.at(0), p.key + " must be an integer, got '" + t + "'");
    return std::nullopt;
  }
  auto n = std::stoll(t);
  if (n < min || n > max) {
    error(p.at(0), p.key + " must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + ", got " + t);
    return std::nullopt;
  }
  return n;
}

std::optional<bool> mapper::boolean(const property& p) {
  auto t = lower(text(p));
  if (t == "true")
    return true;
  if (t == "false")
    return false;
  // Flume reads anything but "true" as false, a typo included.
  error(p.at(0), p.key + " must be true or false, got '" + text(p) + "'");
  return std::nullopt;
}

bool mapper::convert(const property& p, conv how, option_value& out) {
  constexpr int64_t big = int64_t{1} << 52;
  switch (how) {
  case conv::string:
    out = text(p);
    return true;
  case conv::integer:
  case conv::millis:
    if (auto n = integer(p, 0, big)) {
      out = *n;
      return true;
    }
    return false;
  case conv::port:
    if (auto n = integer(p, 0, 65535)) {
      out = *n;
      return true;
    }
    return false;
  case conv::seconds:
    if (auto n = integer(p, 0, big / 1000)) {
      out = *n * 1000;
      return true;
    }
    return false;
  case conv::boolean:
    if (auto b = boolean(p)) {
      out = *b;
      return true;
    }
    return false;
  }
  return false;
}

void mapper::set_origin(const component& c, const std::string& option,
                        const property& p) {
  origins_[c.name + "\n" + option] = &p;
}

void mapper::apply(component& c, const std::vector<rule>& rules, options& out) {
  for (auto& r : rules)
    if (auto* p = take(c, r.flume)) {
      option_value v;
      if (convert(*p, r.how, v))
        out.set(r.sluice, std::move(v));
      else
        unset_.insert(c.name + "\n" + r.sluice);
      set_origin(c, r.sluice, *p);
    }
}

void mapper::apply(component& c, const std::vector<ignored>& keys) {
  for (auto& k : keys)
    if (auto* p = take(c, k.flume))
      note(p->where, p->key + " is ignored: " + k.why);
}

void mapper::leftovers(component& c, const std::string& what) {
  std::vector<std::string> known(c.asked.begin(), c.asked.end());
  for (auto& [tail, p] : c.props) {
    if (c.taken.count(tail) > 0)
      continue;
    error(p->where,
          "unknown or unsupported property '" + p->key + "' for " + what +
              suggestion(tail, known) +
              (known.empty() ? std::string{} : "; known here: " + join(known)));
  }
}

std::optional<size_t> mapper::batch(component& c, const std::string& tail) {
  auto* p = take(c, tail);
  if (!p)
    return std::nullopt;
  set_origin(c, "batch_size", *p);
  if (auto n = integer(*p, 1, 1'000'000))
    return static_cast<size_t>(*n);
  return size_t{0};
}

void mapper::check_connector(const std::string& kind, const std::string& name,
                             const std::string& type, options& opts,
                             const source_position& where) {
  const std::vector<option_spec>* specs = nullptr;
  const source_type* source = nullptr;
  const sink_type* sink = nullptr;
  if (kind == "source" && (source = registry_.find_source(type)))
    specs = &source->options;
  if (kind == "sink" && (sink = registry_.find_sink(type)))
    specs = &sink->options;
  // A type this build lacks (forward, before the link exists) is checked
  // when the registry has it.
  if (!specs)
    return;
  auto what = type + " " + kind + " '" + name + "'";
  opts.apply_fallbacks(*specs);
  auto msgs = check_options(opts, *specs);
  // An option whose Flume value was refused is missing here: said already.
  auto said = std::erase_if(msgs, [&](const std::string& msg) {
    return refused("'" + name + "': " + msg);
  });
  for (auto& msg : msgs)
    option_error(name, what, where, msg);
  if (!msgs.empty() || said > 0)
    return;
  connector_context ctx{name, std::make_shared<component_metrics>(name, kind)};
  if (source) {
    if (auto made = source->make(ctx, opts); !made)
      error(where, what + ": " + message_of(made.error()));
  } else if (auto made = sink->make(ctx, opts); !made) {
    error(where, what + ": " + message_of(made.error()));
  }
}

void mapper::needs(component& c, const std::string& what,
                   const std::string& tail, const std::string& why) {
  if (c.props.count(tail) > 0)
    return;
  missing_.insert(c.name);
  error(c.where, what + " '" + c.name + "' needs " + full_key(c, tail) + why);
}

void mapper::option_error(const std::string& component, const std::string& what,
                          const source_position& fallback,
                          const std::string& msg) {
  // A missing option was reported by its Flume key where the mapping
  // found it missing.
  if (msg.rfind("missing required", 0) == 0 && missing_.count(component) > 0)
    return;
  if (msg.rfind("option '", 0) == 0)
    if (auto close = msg.find('\'', 8); close != std::string::npos) {
      auto name = msg.substr(8, close - 8);
      if (auto i = origins_.find(component + "\n" + name);
          i != origins_.end()) {
        error(i->second->where,
              what + ": " + i->second->key + msg.substr(close + 1));
        return;
      }
    }
  error(fallback, what + ": " + msg);
}

source_position mapper::key_position(const std::string& component,
                                     const std::string& key) const {
  if (auto i = origins_.find(component + "\n" + key); i != origins_.end())
    return i->second->where;
  for (auto* m : {&sources_, &channels_, &sinks_, &groups_})
    if (auto i = m->find(component); i != m->end())
      return i->second.where;
  return {file_, 1, 1};
}

// -- the agent --------------------------------------------------------------

void mapper::declare(const property& p, const std::string& kind,
                     std::map<std::string, component>& into,
                     std::vector<std::string>& order) {
  auto plural = kind == "sink group" ? std::string{"sinkgroups"} : kind + "s";
  for (auto& x : list(p)) {
    auto [i, fresh] = into.emplace(x.text, component{});
    if (!fresh) {
      error(x.where, kind + " '" + x.text + "' is listed twice in " + p.key);
      continue;
    }
    i->second.name = x.text;
    i->second.kind = kind;
    i->second.prefix = agent_ + "." + plural + "." + x.text + ".";
    i->second.where = x.where;
    order.push_back(x.text);
  }
}

void mapper::collect(const std::vector<property>& props) {
  // Java keeps the last of a key set twice; here that is an error.
  std::map<std::string, const property*> seen;
  std::vector<const property*> mine;
  for (auto& p : props) {
    if (!p.key.starts_with(agent_ + "."))
      continue;
    auto [i, fresh] = seen.emplace(p.key, &p);
    if (!fresh) {
      error(p.where, p.key + " is set twice (first at line " +
                         std::to_string(i->second->where.line) +
                         "); Flume would silently keep this one");
      continue;
    }
    mine.push_back(&p);
  }
  struct section {
    std::string word; ///< "sources"
    std::string kind; ///< "source"
    std::map<std::string, component>* into;
    std::vector<std::string>* order;
  };
  std::vector<section> sections = {
      {"sources", "source", &sources_, &source_order_},
      {"channels", "channel", &channels_, &channel_order_},
      {"sinks", "sink", &sinks_, &sink_order_},
      {"sinkgroups", "sink group", &groups_, &group_order_},
  };
  std::map<std::string, const property*> lists;
  for (auto* p : mine) {
    auto rest = p->key.substr(agent_.size() + 1);
    for (auto& s : sections)
      if (rest == s.word) {
        declare(*p, s.kind, *s.into, *s.order);
        lists[s.word] = p;
      }
  }
  std::set<std::string> undeclared; // reported once per component
  for (auto* p : mine) {
    auto rest = p->key.substr(agent_.size() + 1);
    if (lists.count(rest) > 0)
      continue;
    auto dot = rest.find('.');
    auto word = rest.substr(0, dot);
    auto s = std::find_if(sections.begin(), sections.end(),
                          [&](auto& x) { return x.word == word; });
    if (s == sections.end()) {
      error(p->where, "unknown property '" + p->key + "'" +
                          suggestion(word, {"sources", "channels", "sinks",
                                            "sinkgroups"}) +
                          "; an agent has sources, channels, sinks and "
                          "sinkgroups");
      continue;
    }
    auto name_end =
        dot == std::string::npos ? std::string::npos : rest.find('.', dot + 1);
    if (dot == std::string::npos || name_end == std::string::npos ||
        name_end == dot + 1 || name_end + 1 >= rest.size()) {
      error(p->where, "property '" + p->key + "' names no " + s->kind +
                          " option: write " + agent_ + "." + s->word +
                          ".NAME.KEY");
      continue;
    }
    auto name = rest.substr(dot + 1, name_end - dot - 1);
    auto tail = rest.substr(name_end + 1);
    auto i = s->into->find(name);
    if (i == s->into->end()) {
      if (!undeclared.insert(s->word + "\n" + name).second)
        continue;
      auto list_key = agent_ + "." + s->word;
      auto l = lists.find(s->word);
      error(p->where,
            p->key + ": " + s->kind + " '" + name + "' is not declared in " +
                list_key +
                (l == lists.end()
                     ? std::string{" (which is not set)"}
                     : " (line " + std::to_string(l->second->where.line) + ")" +
                           suggestion(name, *s->order)) +
                "; Flume ignores such properties, sluice does not");
      continue;
    }
    i->second.props[tail] = p;
  }
}

void mapper::finish_batches(topology_spec& out) {
  std::map<std::string, int64_t> tx;
  for (auto& c : out.channels)
    tx[c.name] = c.opts.contains("transaction_capacity")
                     ? c.opts.get_int("transaction_capacity")
                     : 100;
  auto fit = [&](size_t flume_default, const std::string& channel) {
    auto i = tx.find(channel);
    if (i == tx.end() || i->second < 1)
      return flume_default;
    return std::min(flume_default, static_cast<size_t>(i->second));
  };
  for (auto& s : out.sources)
    if (auto i = source_batches_.find(s.name); i != source_batches_.end())
      s.batch_size = fit(i->second, s.channel);
  for (auto& s : out.sinks)
    if (auto i = sink_batches_.find(s.name); i != sink_batches_.end())
      s.batch_size = fit(i->second, s.channel);
}

topology_spec mapper::run(const std::vector<property>& props) {
  topology_spec out;
  collect(props);
  for (auto& name : channel_order_)
    map_channel(channels_[name], out);
  for (auto& name : source_order_)
    map_source(sources_[name], out);
  for (auto& name : sink_order_)
    map_sink(sinks_[name], out);
  for (auto& name : group_order_)
    map_group(groups_[name], out);
  check_groups(out);
  std::erase_if(out.sink_groups, [this](const sink_group_spec& g) {
    return bad_groups_.count(g.name) > 0;
  });
  finish_batches(out);
  std::sort(unused_.begin(), unused_.end(), [](auto* x, auto* y) {
    return std::tie(x->where.line, x->where.column) <
           std::tie(y->where.line, y->where.column);
  });
  for (auto* p : unused_)
    out.unused_properties.push_back(p->key);
  return out;
}

} // namespace sluice::flume

namespace sluice {

namespace {

std::vector<std::string> agents_in(const std::vector<property>& props) {
  std::vector<std::string> result;
  for (auto& p : props) {
    auto dot = p.key.find('.');
    if (dot == std::string::npos || dot == 0)
      continue;
    auto name = p.key.substr(0, dot);
    if (std::find(result.begin(), result.end(), name) == result.end())
      result.push_back(name);
  }
  return result;
}

} // namespace

caf::expected<topology_spec>
parse_flume(std::string_view text, const std::string& file_name,
            const std::string& agent, const connector_registry& registry,
            std::vector<diagnostic>& problems, std::vector<diagnostic>& notes) {
  auto before = problems.size();
  auto fail = [&] {
    std::stable_sort(problems.begin() + static_cast<ptrdiff_t>(before),
                     problems.end(), [](auto& x, auto& y) {
                       return std::tie(x.where.line, x.where.column) <
                              std::tie(y.where.line, y.where.column);
                     });
    return make_error(config_errc::invalid,
                      std::to_string(problems.size() - before) +
                          " error(s) in " + file_name + " for agent '" + agent +
                          "'");
  };
  if (text.size() > max_topology_bytes) {
    problems.push_back({{file_name, 0, 0},
                        "the text is " + std::to_string(text.size()) +
                            " bytes, more than the " +
                            std::to_string(max_topology_bytes >> 20) +
                            " MiB a configuration may hold"});
    return fail();
  }
  auto props = read_properties(text, file_name, problems);
  auto agents = agents_in(props);
  if (std::find(agents.begin(), agents.end(), agent) == agents.end()) {
    auto where =
        props.empty() ? source_position{file_name, 1, 1} : props.front().where;
    problems.push_back(
        {where, "agent '" + agent +
                    "' is not in this file (no property "
                    "starts with '" +
                    agent + ".')" +
                    (agents.empty() ? std::string{"; it holds no agent"}
                                    : "; agents here: " + detail::join(agents) +
                                          detail::suggestion(agent, agents))});
    return fail();
  }
  flume::mapper m{file_name, agent, registry, problems, notes};
  auto spec = m.run(props);
  bool nothing =
      spec.sources.empty() && spec.channels.empty() && spec.sinks.empty();
  if (nothing && problems.size() == before)
    problems.push_back(
        {props.front().where, "agent '" + agent +
                                  "' declares no sources, channels "
                                  "or sinks (" +
                                  agent + ".sources, " + agent + ".channels, " +
                                  agent + ".sinks)"});
  if (!nothing)
    for (auto& d : detail::validate_impl(
             spec, registry,
             [&](auto&component, auto&key) {
               return m.key_position(component, key);
             },
             false)) {
      // An option whose value the mapping refused is missing here: said.
      if (m.refused(d.message))
        continue;
      // A topic sink's node is its datahub.endPoint, which the mapping
      // checked (Flume declares no topics).
      if (d.message.find("which this topology does not declare") !=
          std::string::npos)
        continue;
      // Its messages name sluice's options; say Flume's names.
      for (auto [from, to] : {std::pair{"batch_size", "batch size"},
                              {"transaction_capacity", "transactionCapacity"},
                              {"position_file", "positionFile"}})
        for (auto i = d.message.find(from); i != std::string::npos;
             i = d.message.find(from, i))
          d.message.replace(i, std::string_view{from}.size(), to);
      problems.push_back(std::move(d));
    }
  if (problems.size() > before)
    return fail();
  return spec;
}

std::string unused_properties_line(const std::string& agent,
                                   const topology_spec& spec) {
  if (spec.unused_properties.empty())
    return {};
  return agent +
         ": unused Flume properties: " + detail::join(spec.unused_properties);
}

caf::expected<topology_spec> load_flume(const std::string& path,
                                        const std::string& agent,
                                        const connector_registry& registry,
                                        std::vector<diagnostic>& problems,
                                        std::vector<diagnostic>& notes) {
  auto text = detail::read_topology_file(path, problems);
  if (!text)
    return std::move(text.error());
  return parse_flume(*text, path, agent, registry, problems, notes);
}

} // namespace sluice

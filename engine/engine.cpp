#include "engine/engine.hpp"
#include "engine/stats_printer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/channel.hpp"
#include "actors/sink.hpp"
#include "actors/sink_group.hpp"
#include "actors/source.hpp"
#include "actors/supervisor.hpp"
#include "actors/topic_sink.hpp"
#include "actors/topic_source.hpp"
#include "connectors/forward.hpp"
#include "connectors/topic.hpp"
#include "engine/cluster.hpp"
#include "engine/topics.hpp"
#include "engine/topology_jobs.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/file_store.hpp"
#include "runtime/log.hpp"
#include "runtime/memory_store.hpp"
#include "runtime/paths.hpp"
#include "runtime/scheduler_config.hpp"
#include "runtime/type_ids.hpp"

namespace sluice {

namespace {

size_t option_or(const options& opts, const std::string& key, size_t fallback) {
  return opts.contains(key) ? static_cast<size_t>(opts.get_int(key)) : fallback;
}

channel_config make_channel_config(const channel_spec& spec,
                                   const topology_spec& topo,
                                   metrics_registry& metrics) {
  channel_config cfg;
  cfg.name = spec.name;
  cfg.metrics = metrics.get(spec.name, "channel");
  cfg.capacity = option_or(spec.opts, "capacity", cfg.capacity);
  cfg.transaction_capacity =
      option_or(spec.opts, "transaction_capacity", cfg.transaction_capacity);
  cfg.drain_timeout_ms = topo.drain_timeout_ms;
  if (spec.type == "file") {
    file_store_config fs;
    fs.directory = spec.opts.get_string("directory");
    fs.segment_size = spec.opts.get_int("segment_size");
    fs.max_disk_bytes = spec.opts.get_int("max_disk_bytes");
    fs.min_free_space = spec.opts.get_int("min_free_space");
    cfg.byte_capacity = static_cast<size_t>(fs.max_disk_bytes);
    cfg.drain_on_stop = false;
    cfg.make_store = [fs]() -> caf::expected<channel_store_ptr> {
      // Where the errno is known: a path in the way or a directory this
      // process may not write fails at once instead of being retried.
      if (auto bad = prepare_directory(fs.directory))
        return classify_errno(make_error(channel_errc::io_error, bad->text),
                              bad->code);
      auto store = file_store::make(fs);
      if (!store)
        return store.error();
      return channel_store_ptr{std::move(*store)};
    };
  } else {
    cfg.byte_capacity =
        option_or(spec.opts, "byte_capacity", cfg.byte_capacity);
    cfg.drain_on_stop = true;
    cfg.make_store = []() -> caf::expected<channel_store_ptr> {
      return channel_store_ptr{std::make_unique<memory_store>()};
    };
  }
  return cfg;
}

} // namespace

struct engine::impl {
  /// An actor of the embedding program (add_sink_actor, add_source_actor).
  struct custom_actor {
    std::string name;
    std::string channel;
    bool is_sink = false;
    actor_factory factory;
  };
  topology_spec spec;
  connector_registry registry;
  engine_options opts;
  std::shared_ptr<const table_registry> tables;
  std::shared_ptr<const expr::function_registry> functions;
  metrics_registry metrics;
  std::vector<custom_actor> customs;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor supervisor;
  caf::actor stats;
  std::vector<caf::actor> nodes; ///< node actors on control ports
  /// The supervisor as the node actors see it (they find topics through
  /// it); set once it runs, cleared when it ended.
  struct supervisor_ref {
    std::mutex mtx;
    caf::actor actor;
  };
  std::shared_ptr<supervisor_ref> sup_ref = std::make_shared<supervisor_ref>();
  std::unique_ptr<caf::scoped_actor> waiter;
  bool started = false;
  bool waited = false;
  caf::error result;

  supervisor_config make_supervisor_config();
  child_spec source_child(const source_spec& src);
  child_spec sink_child(const sink_spec& snk);
  child_spec sink_group_child(const sink_group_spec& group);
  // Topic sinks and sources (issue 6).
  /// Topics running on this node, by name: filled when the topics start,
  /// read by topic sinks and sources when they start.
  std::shared_ptr<std::map<std::string, topic_actor>> local_topics =
      std::make_shared<std::map<std::string, topic_actor>>();
  /// Every topic of the topology, also those of other nodes (the node's
  /// own spec keeps only its own): where topic sinks and sources look.
  std::vector<topic_spec> all_topics;
  child_spec topic_source_child(const source_spec& src,
                                std::shared_ptr<component_metrics> m);
  child_spec topic_sink_child(const sink_spec& snk,
                              std::shared_ptr<component_metrics> m);
  // End of topic sinks and sources.
  /// Sink groups, as children that spawn their members; makes the groups
  /// dependents of their channels in place of their members.
  void add_sink_groups(supervisor_config& cfg);
  /// This node's SQL jobs, compiled by `start`.
  std::vector<topology_job> jobs;
  void add_jobs(supervisor_config& cfg);
};

namespace {

/// Sinks that a group spawns, with their group.
std::map<std::string, const sink_group_spec*>
grouped_sinks(const topology_spec& spec) {
  std::map<std::string, const sink_group_spec*> result;
  for (auto& g : spec.sink_groups)
    for (auto& m : g.sinks)
      result.emplace(m, &g);
  return result;
}

} // namespace

child_spec engine::impl::source_child(const source_spec& src) {
  auto* type = registry.find_source(src.type);
  auto m = metrics.get(src.name, "source");
  if (is_forward_type(src.type))
    return forward_source_child(src, m);
  if (is_topic_type(src.type))
    return topic_source_child(src, m);
  const interceptor_type* none = nullptr;
  std::vector<std::pair<const interceptor_type*, options>> chain;
  for (auto& i : src.interceptors) {
    auto* t = registry.find_interceptor(i.type);
    chain.emplace_back(t ? t : none, i.opts);
  }
  child_spec child;
  child.name = src.name;
  child.stop_phase = 0;
  child.metrics = m;
  child.start = [type, src, m,
                 chain](caf::actor_system& sys,
                        const child_handles& peers) -> caf::actor {
    auto ch = peers.find(src.channel);
    if (ch == peers.end())
      return caf::actor{};
    source_config cfg;
    cfg.name = src.name;
    cfg.channel = caf::actor_cast<channel_actor>(ch->second);
    cfg.batch_size = src.batch_size;
    cfg.metrics = m;
    connector_context ctx{src.name, m};
    cfg.make_connector = [type, ctx, opts = src.opts] {
      return type->make(ctx, opts);
    };
    cfg.make_interceptors =
        [chain]() -> caf::expected<std::vector<interceptor_ptr>> {
      std::vector<interceptor_ptr> result;
      for (auto& [t, opts] : chain) {
        auto i = t->make(opts);
        if (!i)
          return i.error();
        result.push_back(std::move(*i));
      }
      return result;
    };
    return caf::actor_cast<caf::actor>(
        spawn_source(sys, std::move(cfg), type->blocking));
  };
  return child;
}

child_spec engine::impl::sink_child(const sink_spec& snk) {
  auto* type = registry.find_sink(snk.type);
  auto m = metrics.get(snk.name, "sink");
  if (is_forward_type(snk.type))
    return forward_sink_child(snk, m);
  if (is_topic_type(snk.type))
    return topic_sink_child(snk, m);
  child_spec child;
  child.name = snk.name;
  child.stop_phase = 2;
  child.metrics = m;
  child.start = [type, snk, m](caf::actor_system& sys,
                               const child_handles& peers) -> caf::actor {
    auto ch = peers.find(snk.channel);
    if (ch == peers.end())
      return caf::actor{};
    sink_config cfg;
    cfg.name = snk.name;
    cfg.channel = caf::actor_cast<sink_feed_actor>(ch->second);
    cfg.batch_size = snk.batch_size;
    cfg.metrics = m;
    connector_context ctx{snk.name, m};
    cfg.make_connector = [type, ctx, opts = snk.opts] {
      return type->make(ctx, opts);
    };
    return caf::actor_cast<caf::actor>(
        spawn_sink(sys, std::move(cfg), type->blocking));
  };
  return child;
}

// Topic sinks and sources (issue 6).

namespace {

/// Where a topic sink or source finds topic `name`: on this node (the
/// handle is looked up when it starts), at the control port of the node
/// of this topology that holds it, or at its `address` option.
struct topic_route {
  std::string name;
  bool local = false;
  std::string host;
  uint16_t port = 0;
};

topic_route route_topic(const topology_spec& spec,
                        const std::vector<topic_spec>& topics,
                        const options& opts, const std::string& node) {
  topic_route r;
  r.name = opts.contains("topic") ? opts.get_string("topic") : "";
  auto t = std::find_if(topics.begin(), topics.end(),
                        [&](auto& x) { return x.name == r.name; });
  if (t != topics.end()) {
    r.local = t->node.empty() || t->node == node;
    if (!r.local)
      for (auto& n : spec.cluster.nodes)
        if (n.name == t->node) {
          r.host = n.host;
          r.port = n.port;
        }
    return r;
  }
  if (opts.contains("address") && !opts.get_string("address").empty())
    if (auto a = parse_topic_address(opts.get_string("address"))) {
      r.host = a->host;
      r.port = a->port;
    }
  return r;
}

} // namespace

child_spec
engine::impl::topic_source_child(const source_spec& src,
                                 std::shared_ptr<component_metrics> m) {
  auto route = route_topic(spec, all_topics, src.opts, src.node);
  topic_source_config base;
  base.name = src.name;
  base.topic_name = route.name;
  base.host = route.host;
  base.port = route.port;
  base.group = src.opts.contains("group") ? src.opts.get_string("group") : "";
  if (src.opts.contains("start"))
    if (auto start = parse_topic_start(src.opts.get_string("start")))
      base.start = *start;
  if (src.opts.contains("headers"))
    base.headers = src.opts.get_bool("headers");
  if (src.opts.contains("max_fetch_bytes"))
    base.fetch_bytes =
        static_cast<uint64_t>(src.opts.get_int("max_fetch_bytes"));
  base.window = src.batch_size * 4;
  base.metrics = m;
  child_spec child;
  child.name = src.name;
  child.stop_phase = 0;
  child.metrics = m;
  child.start = [base, local = route.local, topics = local_topics,
                 channel = src.channel](caf::actor_system& sys,
                                        const child_handles& peers) {
    auto ch = peers.find(channel);
    if (ch == peers.end())
      return caf::actor{};
    auto cfg = base;
    cfg.channel = caf::actor_cast<channel_actor>(ch->second);
    if (local)
      if (auto t = topics->find(cfg.topic_name); t != topics->end())
        cfg.topic = t->second;
    return spawn_topic_source(sys, std::move(cfg));
  };
  return child;
}

child_spec
engine::impl::topic_sink_child(const sink_spec& snk,
                               std::shared_ptr<component_metrics> m) {
  auto route = route_topic(spec, all_topics, snk.opts, snk.node);
  topic_sink_config base;
  base.name = snk.name;
  base.topic_name = route.name;
  base.host = route.host;
  base.port = route.port;
  base.batch_size = snk.batch_size;
  if (snk.opts.contains("partition") &&
      snk.opts.get_string("partition") == "round_robin")
    base.partition = topic_partition::round_robin;
  if (snk.opts.contains("key"))
    base.key = snk.opts.get_string("key");
  if (snk.opts.contains("fields"))
    base.fields = snk.opts.get_list("fields");
  if (snk.opts.contains("delimiter"))
    base.delimiter = snk.opts.get_string("delimiter");
  if (snk.opts.contains("timeout"))
    base.timeout_ms = snk.opts.get_int("timeout");
  if (snk.opts.contains("shards"))
    base.shards = static_cast<uint32_t>(snk.opts.get_int("shards"));
  base.origin = (snk.node.empty() ? "" : snk.node + "/") + snk.channel;
  base.metrics = m;
  child_spec child;
  child.name = snk.name;
  child.stop_phase = 2;
  child.metrics = m;
  child.start = [base, local = route.local, topics = local_topics,
                 channel = snk.channel](caf::actor_system& sys,
                                        const child_handles& peers) {
    auto ch = peers.find(channel);
    if (ch == peers.end())
      return caf::actor{};
    auto cfg = base;
    cfg.feed = ch->second;
    if (local)
      if (auto t = topics->find(cfg.topic_name); t != topics->end())
        cfg.topic = t->second;
    return caf::actor_cast<caf::actor>(spawn_topic_sink(sys, std::move(cfg)));
  };
  return child;
}

// End of topic sinks and sources.

child_spec engine::impl::sink_group_child(const sink_group_spec& group) {
  sink_group_config base;
  base.name = group.name;
  base.metrics = metrics.get(group.name, "sink_group");
  std::string channel;
  for (auto& name : group.sinks) {
    auto snk = std::find_if(spec.sinks.begin(), spec.sinks.end(),
                            [&](auto& s) { return s.name == name; });
    if (snk == spec.sinks.end())
      continue;
    channel = snk->channel;
    // A member is an ordinary sink whose channel is the group.
    auto member_child = sink_child(*snk);
    sink_group_member member;
    member.name = name;
    member.metrics = member_child.metrics;
    if (auto p = group.priorities.find(name); p != group.priorities.end())
      member.priority = p->second;
    member.spawn = [start = member_child.start, channel](caf::actor_system& sys,
                                                         sink_feed_actor feed) {
      return start(sys, {{channel, caf::actor_cast<caf::actor>(feed)}});
    };
    base.members.push_back(std::move(member));
  }
  auto& o = group.opts;
  if (group.type == "failover") {
    auto penalty = std::chrono::milliseconds{o.get_int("penalty")};
    auto max_penalty = std::chrono::milliseconds{o.get_int("maxpenalty")};
    base.make_policy = [penalty, max_penalty](std::vector<member_status> ms)
        -> caf::expected<std::unique_ptr<sink_group_policy>> {
      auto p = failover_policy::make(std::move(ms), penalty, max_penalty);
      if (!p)
        return p.error();
      return std::unique_ptr<sink_group_policy>{std::move(*p)};
    };
  } else {
    auto selector = o.get_string("selector") == "random"
                        ? lb_selector::random
                        : lb_selector::round_robin;
    auto backoff = o.get_bool("backoff");
    auto max_timeout = std::chrono::milliseconds{o.get_int("max_timeout")};
    base.make_policy = [selector, backoff,
                        max_timeout](std::vector<member_status> ms)
        -> caf::expected<std::unique_ptr<sink_group_policy>> {
      auto seed = static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count());
      auto p = load_balance_policy::make(std::move(ms), selector, backoff,
                                         max_timeout, seed);
      if (!p)
        return p.error();
      return std::unique_ptr<sink_group_policy>{std::move(*p)};
    };
  }
  child_spec child;
  child.name = group.name;
  child.stop_phase = 2;
  child.metrics = base.metrics;
  child.start = [base, channel](caf::actor_system& sys,
                                const child_handles& peers) {
    auto ch = peers.find(channel);
    if (ch == peers.end())
      return caf::actor{};
    auto cfg = base;
    cfg.channel = ch->second;
    return spawn_sink_group(sys, std::move(cfg));
  };
  return child;
}

void engine::impl::add_sink_groups(supervisor_config& cfg) {
  auto grouped = grouped_sinks(spec);
  for (auto& child : cfg.children) {
    auto& deps = child.dependents;
    std::vector<std::string> kept;
    for (auto& d : deps) {
      auto g = grouped.find(d);
      if (g == grouped.end())
        kept.push_back(d);
      else if (std::find(kept.begin(), kept.end(), g->second->name) ==
               kept.end())
        kept.push_back(g->second->name);
    }
    deps = std::move(kept);
  }
  cfg.children.erase(
      std::remove_if(cfg.children.begin(), cfg.children.end(),
                     [&](auto& c) { return grouped.count(c.name) > 0; }),
      cfg.children.end());
  for (auto& g : spec.sink_groups)
    cfg.children.push_back(sink_group_child(g));
}

void engine::impl::add_jobs(supervisor_config& cfg) {
  if (jobs.empty())
    return;
  job_child_context ctx;
  ctx.tables = tables;
  ctx.fns = functions;
  ctx.metrics = &metrics;
  ctx.find_topic = make_topic_finder(*sys, all_topics, spec.cluster, opts.node,
                                     [ref = sup_ref] {
                                       std::lock_guard guard{ref->mtx};
                                       return ref->actor;
                                     });
  for (auto& decl : jobs)
    for (auto& j : decl.jobs)
      cfg.children.push_back(job_child(j, ctx));
}

supervisor_config engine::impl::make_supervisor_config() {
  supervisor_config cfg;
  cfg.name = "supervisor";
  auto& sv = spec.supervision;
  cfg.policy = {sv.max_restarts, sv.restart_window_ms, sv.initial_backoff_ms,
                sv.max_backoff_ms};
  cfg.phase_timeout_ms = spec.drain_timeout_ms + 10'000;
  // Topics first: topic sinks and sources find them running.
  for (auto& t : spec.topics)
    cfg.children.push_back(topic_child(
        t, spec, metrics.get(topic_child_name(t.name), "topic"), local_topics));
  for (auto& ch : spec.channels) {
    child_spec child;
    child.name = ch.name;
    child.stop_phase = 1;
    child.drains = true;
    for (auto& s : spec.sources)
      if (s.channel == ch.name)
        child.dependents.push_back(s.name);
    for (auto& s : spec.sinks)
      if (s.channel == ch.name)
        child.dependents.push_back(s.name);
    for (auto& c : customs)
      if (c.channel == ch.name)
        child.dependents.push_back(c.name);
    auto ccfg = make_channel_config(ch, spec, metrics);
    size_t feeding = 0;
    for (auto& s : spec.sources)
      feeding += s.channel == ch.name;
    for (auto& c : customs)
      feeding += !c.is_sink && c.channel == ch.name;
    ccfg.expected_sources = std::max<size_t>(1, feeding);
    child.metrics = ccfg.metrics;
    bool detached = ch.type == "file";
    child.start = [ccfg, detached](caf::actor_system& sys,
                                   const child_handles&) {
      return caf::actor_cast<caf::actor>(spawn_channel(sys, ccfg, detached));
    };
    cfg.children.push_back(std::move(child));
  }
  for (auto& src : spec.sources)
    cfg.children.push_back(source_child(src));
  for (auto& snk : spec.sinks)
    cfg.children.push_back(sink_child(snk));
  for (auto& c : customs) {
    child_spec child;
    child.name = c.name;
    child.stop_phase = c.is_sink ? 2 : 0;
    child.metrics = metrics.get(c.name, c.is_sink ? "sink" : "source");
    child.start = [c](caf::actor_system& sys, const child_handles& peers) {
      auto ch = peers.find(c.channel);
      return ch == peers.end()
                 ? caf::actor{}
                 : c.factory(sys, caf::actor_cast<channel_actor>(ch->second));
    };
    cfg.children.push_back(std::move(child));
  }
  add_sink_groups(cfg);
  add_jobs(cfg);
  order_stop_by_links(cfg, spec);
  order_topics(cfg, spec);
  return cfg;
}

engine::engine(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

engine::~engine() {
  if (impl_->started && !impl_->waited) {
    stop();
    wait();
  }
}

caf::expected<std::unique_ptr<engine>> engine::make(topology_spec spec,
                                                    connector_registry registry,
                                                    engine_options opts,
                                                    sql_registries sql) {
  auto ptr = std::make_unique<impl>();
  ptr->spec = std::move(spec);
  ptr->registry = std::move(registry);
  ptr->opts = opts;
  ptr->tables = std::make_shared<const table_registry>(std::move(sql.tables));
  ptr->functions =
      std::make_shared<const expr::function_registry>(std::move(sql.functions));
  return std::unique_ptr<engine>{new engine(std::move(ptr))};
}

caf::error engine::add_sink_actor(std::string name, std::string channel,
                                  actor_factory factory) {
  if (impl_->started)
    return make_error(config_errc::invalid, "the engine already started");
  impl_->spec.attached_channels.push_back(channel);
  impl_->customs.push_back(
      {std::move(name), std::move(channel), true, std::move(factory)});
  return {};
}

caf::error engine::add_source_actor(std::string name, std::string channel,
                                    actor_factory factory) {
  if (impl_->started)
    return make_error(config_errc::invalid, "the engine already started");
  impl_->spec.attached_channels.push_back(channel);
  impl_->customs.push_back(
      {std::move(name), std::move(channel), false, std::move(factory)});
  return {};
}

caf::error engine::start() {
  auto& d = *impl_;
  if (d.started)
    return make_error(config_errc::invalid, "the engine already started");
  if (auto problems = validate(d.spec, d.registry); !problems.empty()) {
    std::string text;
    for (auto& p : problems)
      text += (text.empty() ? "" : "\n") + to_string(p);
    return make_error(config_errc::invalid, std::move(text));
  }
  d.all_topics = d.spec.topics;
  auto selected = select_node(d.spec, d.opts.node);
  if (!selected)
    return std::move(selected.error());
  d.spec = std::move(*selected);
  if (!d.spec.jobs.empty()) {
    // This node's jobs, checked against every topic of the topology.
    auto mine = d.spec;
    mine.topics = d.all_topics;
    auto jobs = compile_topology_jobs(mine, *d.tables, *d.functions);
    if (!jobs)
      return std::move(jobs.error());
    d.jobs = std::move(*jobs);
  }
  d.sys_cfg = std::make_unique<caf::actor_system_config>();
  register_types(*d.sys_cfg);
  if (needs_cluster(d.spec))
    configure_cluster(*d.sys_cfg, d.spec.cluster);
  configure_scheduler(*d.sys_cfg, d.opts.threads);
  // A job's scan that keeps sending itself polls would otherwise starve
  // the actors that share its thread (jobs.cpp says more).
  if (!d.jobs.empty())
    d.sys_cfg->set("scheduler.max-throughput", 64);
  d.sys_cfg->set("logger.verbosity", caf::atom("quiet"));
  d.sys_cfg->set("logger.console", caf::atom("none"));
  d.sys = std::make_unique<caf::actor_system>(*d.sys_cfg);
  if (needs_cluster(d.spec)) {
    auto nodes = publish_nodes(*d.sys, d.spec.cluster, d.opts.node, &d.spec,
                               &d.metrics, [ref = d.sup_ref] {
                                 std::lock_guard guard{ref->mtx};
                                 return ref->actor;
                               });
    if (!nodes) {
      d.sys.reset();
      return std::move(nodes.error());
    }
    d.nodes = std::move(*nodes);
  }
  d.started = true;
  d.waiter = std::make_unique<caf::scoped_actor>(*d.sys);
  d.supervisor = spawn_supervisor(*d.sys, d.make_supervisor_config());
  {
    std::lock_guard guard{d.sup_ref->mtx};
    d.sup_ref->actor = d.supervisor;
  }
  (*d.waiter)->monitor(d.supervisor);
  if (d.opts.stats_interval_ms > 0)
    d.stats = spawn_stats_printer(*d.sys, &d.metrics, d.opts.stats_interval_ms);
  return {};
}

void engine::stop() {
  if (impl_->supervisor)
    caf::anon_send(impl_->supervisor, stop_atom::value);
}

caf::error engine::wait() {
  auto& d = *impl_;
  if (!d.started || d.waited)
    return d.result;
  (*d.waiter)->receive([&](caf::down_msg& msg) { d.result = msg.reason; });
  d.waited = true;
  {
    std::lock_guard guard{d.sup_ref->mtx};
    d.sup_ref->actor = nullptr;
  }
  // A failure that escalated killed the channels: say what memory channels
  // held (a drained stop reports its own loss).
  if (d.result && d.result != make_error(channel_errc::events_lost))
    for (auto& ch : d.spec.channels)
      if (ch.type != "file")
        if (auto held = d.metrics.snapshot(ch.name).fill_events; held > 0)
          log().error("channel {}: {} undelivered event(s) lost (memory "
                      "channel stopped by the failure)",
                      ch.name, held);
  if (d.stats)
    caf::anon_send(d.stats, stop_atom::value);
  for (auto& n : d.nodes)
    caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
  d.nodes.clear();
  d.waiter.reset();
  d.supervisor = nullptr;
  d.stats = nullptr;
  d.sys.reset();
  return d.result;
}

caf::expected<caf::actor> engine::component(const std::string& name) {
  auto& d = *impl_;
  if (!d.supervisor)
    return make_error(config_errc::invalid, "the engine is not running");
  caf::scoped_actor self{*d.sys};
  caf::expected<caf::actor> result = caf::actor{};
  self->request(d.supervisor, std::chrono::seconds{10}, get_atom::value, name)
      .receive([&](caf::actor& a) { result = std::move(a); },
               [&](caf::error& err) {
                 result = make_error(config_errc::not_found,
                                     "no running component '" + name +
                                         "': " + describe(err));
               });
  return result;
}

metrics_registry& engine::metrics() noexcept {
  return impl_->metrics;
}

caf::actor_system& engine::system() noexcept {
  return *impl_->sys;
}

const topology_spec& engine::spec() const noexcept {
  return impl_->spec;
}

} // namespace sluice

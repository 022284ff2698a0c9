#include "connectors/table_topic.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "connectors/table_registry.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

using std::chrono::milliseconds;

/// One attempt of `open_topic_link`.
caf::expected<topic_link> try_link(const table_context& ctx,
                                   const topic_table_settings& s) {
  auto& sys = *ctx.system;
  topic_link link;
  if (s.address.port != 0) {
    auto t = topic_at_node(sys, s.address, s.topic, s.timeout_ms);
    if (!t)
      return t.error();
    link.topic = std::move(*t);
  } else {
    auto t = ctx.find_topic(s.topic, s.timeout_ms);
    if (!t)
      return t.error();
    link.topic = caf::actor_cast<topic_actor>(*t);
  }
  caf::scoped_actor self{sys};
  caf::error err;
  self->request(link.topic, milliseconds{s.timeout_ms}, metadata_atom::value)
      .receive([&](topic_metadata& m) { link.meta = std::move(m); },
               [&](caf::error& e) { err = std::move(e); });
  if (err)
    return err;
  if (link.meta.shards == 0 ||
      link.meta.shard_actors.size() != link.meta.shards)
    return make_error(topic_errc::bad_metadata,
                      fmt::format("{} shard handle(s) for {} shard(s)",
                                  link.meta.shard_actors.size(),
                                  link.meta.shards));
  return link;
}

} // namespace

std::vector<option_spec> topic_table_options() {
  std::vector<option_spec> out = {
      {"topic", option_type::string, "the topic read or written", true},
      {"address", option_type::string,
       "HOST:PORT of the control port of the node holding the topic (a job "
       "of a topology file finds the topology's topics without it)"},
      {"properties.group.id", option_type::string,
       "source: the consumer group whose offsets are committed (needed by "
       "scan.startup.mode 'group-offsets')"},
      {"scan.startup.mode",
       option_type::string,
       "where a shard is read from: group-offsets (the group's committed "
       "offset; earliest when it has none), earliest-offset, latest-offset, "
       "timestamp",
       false,
       option_value{std::string{"group-offsets"}},
       std::nullopt,
       std::nullopt,
       {"group-offsets", "earliest-offset", "latest-offset", "timestamp"}},
      {"scan.startup.timestamp-millis", option_type::integer,
       "for scan.startup.mode 'timestamp': ms since the epoch; the first "
       "record appended at or after it",
       false, std::nullopt, 0},
      {"scan.bounded.mode",
       option_type::string,
       "unbounded, or latest-offset: end at the end offsets the shards had "
       "at start",
       false,
       option_value{std::string{"unbounded"}},
       std::nullopt,
       std::nullopt,
       {"unbounded", "latest-offset"}},
      {"scan.commit.interval", option_type::duration,
       "how often the group's offsets are committed", false,
       option_value{int64_t{1'000}}, 10},
      {"scan.fetch.max-bytes", option_type::bytes,
       "most bytes of record batches one fetch of a shard returns", false,
       option_value{int64_t{1} << 20}, 1024, int64_t{64} << 20},
      {"key.fields", option_type::string_list,
       "sink: the columns whose text chooses a row's shard (unset: round "
       "robin per write)",
       false, option_value{std::vector<std::string>{}}},
      {"timeout", option_type::duration,
       "how long the node, the topic or a shard may take to answer", false,
       option_value{int64_t{10'000}}, 1},
  };
  for (auto& o : filesystem_table_options()) {
    if (o.name == "path")
      continue;
    if (o.name == "format") {
      o.help = "csv (a DELIMITED record), json (an object) or raw (the "
               "whole record in one STRING column)";
      o.one_of = {"csv", "json", "raw"};
    }
    out.push_back(std::move(o));
  }
  return out;
}

caf::expected<topic_table_settings>
topic_table_settings_from(const options& opts, bool source) {
  topic_table_settings s;
  s.topic = opts.get_string("topic");
  if (opts.contains("address")) {
    auto at = parse_topic_address(opts.get_string("address"));
    if (!at)
      return std::move(at.error());
    s.address = *at;
  }
  if (opts.contains("properties.group.id"))
    s.group = opts.get_string("properties.group.id");
  auto& mode = opts.get_string("scan.startup.mode");
  if (mode == "group-offsets") {
    s.start.from = topic_start::kind::committed;
    if (source && s.group.empty())
      return make_error(config_errc::invalid,
                        "scan.startup.mode 'group-offsets' (the default) "
                        "needs 'properties.group.id'");
  } else if (mode == "earliest-offset") {
    s.start.from = topic_start::kind::earliest;
  } else if (mode == "latest-offset") {
    s.start.from = topic_start::kind::latest;
  } else {
    s.start.from = topic_start::kind::timestamp;
    if (!opts.contains("scan.startup.timestamp-millis"))
      return make_error(config_errc::invalid,
                        "scan.startup.mode 'timestamp' needs "
                        "'scan.startup.timestamp-millis'");
    s.start.timestamp_ms = opts.get_int("scan.startup.timestamp-millis");
  }
  s.bounded = opts.get_string("scan.bounded.mode") == "latest-offset";
  auto& format = opts.get_string("format");
  s.format = format == "json"  ? topic_table_settings::value_format::json
             : format == "raw" ? topic_table_settings::value_format::raw
                               : topic_table_settings::value_format::csv;
  auto text = table_format_from(opts);
  if (!text)
    return std::move(text.error());
  s.text = std::move(*text);
  s.key_fields = opts.get_list("key.fields");
  s.fetch_bytes = static_cast<uint64_t>(opts.get_int("scan.fetch.max-bytes"));
  s.timeout_ms = opts.get_int("timeout");
  s.commit_interval_ms = opts.get_int("scan.commit.interval");
  if (opts.contains("dead-letter.path"))
    s.dead_letter = opts.get_string("dead-letter.path");
  return s;
}

caf::expected<topic_actor> topic_at_node(caf::actor_system& sys,
                                         const topic_address& at,
                                         const std::string& name,
                                         int64_t timeout_ms) {
  auto node =
      connect_actor_within(sys, at.host, at.port, milliseconds{timeout_ms});
  if (!node)
    return node.error();
  caf::scoped_actor self{sys};
  caf::error err;
  topic_actor topic;
  self->request(*node, milliseconds{timeout_ms}, topic_atom::value, name)
      .receive([&](topic_actor& t) { topic = std::move(t); },
               [&](caf::error& e) { err = std::move(e); });
  if (err)
    return err;
  return topic;
}

std::string topic_label(const topic_table_settings& s) {
  if (s.address.port == 0)
    return "topic " + s.topic;
  return fmt::format("topic {} at {}:{}", s.topic, s.address.host,
                     s.address.port);
}

caf::expected<topic_link> open_topic_link(const table_context& ctx,
                                          const topic_table_settings& s) {
  if (s.address.port == 0 && !ctx.find_topic)
    return make_permanent(make_error(
        config_errc::invalid,
        "topic " + s.topic +
            ": no 'address' (HOST:PORT of the node holding it); only a job "
            "of a topology file finds its topics without one"));
  auto deadline = std::chrono::steady_clock::now() + milliseconds{s.timeout_ms};
  for (;;) {
    auto link = try_link(ctx, s);
    if (link)
      return link;
    auto& err = link.error();
    // A topic starting or restarting on its node is asked again too.
    bool transient =
        is_transient_link_error(err) ||
        (err == make_error(topic_errc::stopped) && !is_permanent(err));
    if (!transient || std::chrono::steady_clock::now() >= deadline) {
      if (err == make_error(topic_errc::unknown_topic) && s.address.port != 0)
        return make_error(topic_errc::unknown_topic,
                          fmt::format("the node at {}:{} has no topic {}",
                                      s.address.host, s.address.port, s.topic));
      if (is_permanent(err))
        return err;
      return make_error(topic_errc::io_error,
                        fmt::format("{}: {}", topic_label(s), describe(err)));
    }
    std::this_thread::sleep_for(milliseconds{100}); // not up yet
  }
}

table_source_type topic_table_source_type() {
  table_source_type t;
  t.name = "topic";
  t.help = "reads the shards of a node's topic (csv, json or raw records; "
           "one split per shard)";
  t.blocking = true; // finding the topic and the last commit block
  t.options = topic_table_options();
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_source_ptr> {
    auto s = topic_table_settings_from(opts, true);
    if (!s)
      return std::move(s.error());
    auto src = topic_table_source::make(ctx, std::move(*s));
    if (!src)
      return std::move(src.error());
    return table_source_ptr{std::move(*src)};
  };
  return t;
}

table_sink_type topic_table_sink_type() {
  table_sink_type t;
  t.name = "topic";
  t.help = "appends rows as records to a node's topic (inserts only)";
  t.blocking = true; // each write waits for the shards' answers
  t.accepts_updates = false;
  t.options = topic_table_options();
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_sink_ptr> {
    auto s = topic_table_settings_from(opts, false);
    if (!s)
      return std::move(s.error());
    auto sink = topic_table_sink::make(ctx, std::move(*s));
    if (!sink)
      return std::move(sink.error());
    return table_sink_ptr{std::move(*sink)};
  };
  return t;
}

} // namespace sluice

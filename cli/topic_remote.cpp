#include "cli/topic_remote.hpp"

#include <chrono>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include "engine/cluster.hpp"
#include "runtime/atoms.hpp"
#include "runtime/cluster_link.hpp"
#include "runtime/errors.hpp"
#include "runtime/metrics.hpp"
#include "runtime/scheduler_config.hpp"
#include "runtime/type_ids.hpp"

namespace sluice {

namespace {

/// A connection to one node: its own actor system and a blocking actor
/// that asks, each answer within the node's timeout.
class node_session {
 public:
  explicit node_session(const topic_node& node) : node_(node) {
    register_types(cfg_);
    configure_cluster(cfg_, node.cluster);
    cfg_.set("logger.verbosity", caf::atom("quiet"));
    cfg_.set("logger.console", caf::atom("none"));
    configure_scheduler(cfg_, 2);
    sys_.emplace(cfg_);
    self_.emplace(*sys_);
  }

  ~node_session() { self_.reset(); }

  caf::error connect() {
    auto node =
        connect_actor_within(*sys_, node_.host, node_.port,
                             std::chrono::milliseconds{node_.timeout_ms});
    if (!node)
      return make_error(topic_errc::io_error,
                        fmt::format("node {}: unreachable: {}", node_.address(),
                                    render(node.error())));
    actor_ = std::move(*node);
    return {};
  }

  /// Asks `whom` and waits for a reply of type T.
  template <class T, class Handle, class... Ts>
  caf::expected<T> ask(const Handle& whom, int64_t extra_ms, Ts&&... xs) {
    std::optional<T> out;
    caf::error err;
    (*self_)
        ->request(whom, bound(node_.timeout_ms + extra_ms),
                  std::forward<Ts>(xs)...)
        .receive([&](T& x) { out = std::move(x); },
                 [&](caf::error& e) { err = std::move(e); });
    if (out)
      return std::move(*out);
    return wrap(err);
  }

  /// Sends every request first, then collects the answers in order.
  caf::expected<std::vector<fetch_result>>
  fetch_many(const std::vector<shard_actor>& shards,
             const std::vector<uint32_t>& which,
             const std::vector<uint64_t>& offsets, uint64_t max_bytes,
             int64_t wait_ms) {
    using handle = decltype((*self_)->request(
        shards[0], std::chrono::milliseconds{1}, fetch_atom::value, uint64_t{0},
        uint64_t{0}, int64_t{0}));
    std::vector<handle> pending;
    for (size_t i = 0; i < which.size(); ++i)
      pending.push_back((*self_)->request(
          shards.at(which[i]), bound(node_.timeout_ms + wait_ms),
          fetch_atom::value, offsets[i], max_bytes, wait_ms));
    std::vector<fetch_result> out(which.size());
    caf::error err;
    for (size_t i = 0; i < pending.size(); ++i)
      pending[i].receive([&](fetch_result& r) { out[i] = std::move(r); },
                         [&](caf::error& e) {
                           if (!err)
                             err = std::move(e);
                         });
    if (err)
      return wrap(err);
    return out;
  }

  const caf::actor& node() const { return actor_; }

  const topic_node& where() const { return node_; }

  caf::error wrap(const caf::error& err) const {
    if (err.category() == caf::atom("system"))
      return make_error(
          topic_errc::io_error,
          fmt::format("node {}: {}", node_.address(), render(err)));
    return err;
  }

 private:
  static std::chrono::milliseconds bound(int64_t ms) {
    return std::chrono::milliseconds{ms};
  }

  std::string render(const caf::error& err) const {
    if (err.category() == caf::atom("system")) {
      switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return fmt::format("no answer within {} ms", node_.timeout_ms);
      case caf::sec::cannot_connect_to_node:
        return "cannot connect";
      case caf::sec::unexpected_message:
        return "it does not answer topic requests (a sluice without "
               "topics?)";
      default:
        break;
      }
    }
    auto text = describe(err);
    return text.empty() ? sys_->render(err) : text;
  }

  topic_node node_;
  caf::actor_system_config cfg_;
  std::optional<caf::actor_system> sys_;
  std::optional<caf::scoped_actor> self_;
  caf::actor actor_;
};

/// Looks a topic up on the node and asks for its metadata.
caf::expected<topic_metadata> lookup(node_session& s, const std::string& name,
                                     topic_actor* handle = nullptr) {
  auto topic = s.ask<topic_actor>(s.node(), 0, topic_atom::value, name);
  if (!topic) {
    if (topic.error() == make_error(topic_errc::unknown_topic))
      return make_error(
          topic_errc::unknown_topic,
          fmt::format("node {} has no topic {}", s.where().address(), name));
    return std::move(topic.error());
  }
  if (handle)
    *handle = *topic;
  return s.ask<topic_metadata>(*topic, 0, metadata_atom::value);
}

class remote_topic final : public topic_backend {
 public:
  remote_topic(std::unique_ptr<node_session> s, topic_metadata meta)
      : s_(std::move(s)), meta_(std::move(meta)) {}

  uint32_t shards() const override { return meta_.shards; }

  caf::expected<topic_view>
  describe(const std::vector<std::string>& groups) override {
    topic_view v;
    v.name = meta_.name;
    v.shards = meta_.shards;
    v.where = "node " + s_->where().address();
    for (uint32_t i = 0; i < meta_.shards; ++i) {
      auto off = s_->ask<shard_offsets>(shard(i), 0, offsets_atom::value);
      if (!off)
        return std::move(off.error());
      v.shard_views.push_back({i, off->start, off->end, {}, {}});
    }
    // The groups asked for (shown even without a position) and every group
    // a shard holds a position of, as offline.
    auto none = std::vector<std::optional<uint64_t>>(meta_.shards);
    for (auto& g : groups)
      v.groups.emplace(g, none);
    for (uint32_t i = 0; i < meta_.shards; ++i) {
      auto held = s_->ask<group_offsets>(shard(i), 0, groups_atom::value);
      if (!held)
        return std::move(held.error());
      for (auto& [group, offset] : held->committed)
        v.groups.emplace(group, none).first->second[i] = offset;
    }
    if (auto st = s_->ask<node_status>(s_->node(), 0, status_atom::value))
      for (auto& m : st->components)
        if (m.kind == "topic" && m.name == meta_.name) {
          v.total_segments = m.segments;
          v.total_disk_bytes = static_cast<int64_t>(m.fill_bytes);
        }
    return v;
  }

  caf::expected<fetch_result> fetch(uint32_t i, uint64_t offset,
                                    uint64_t max_bytes,
                                    int64_t wait_ms) override {
    return s_->ask<fetch_result>(shard(i), wait_ms, fetch_atom::value, offset,
                                 max_bytes, wait_ms);
  }

  caf::expected<std::vector<fetch_result>>
  fetch_many(const std::vector<uint32_t>& which,
             const std::vector<uint64_t>& offsets, uint64_t max_bytes,
             int64_t wait_ms) override {
    return s_->fetch_many(meta_.shard_actors, which, offsets, max_bytes,
                          wait_ms);
  }

  caf::expected<uint64_t> offset_for_time(uint32_t i, int64_t ts) override {
    return s_->ask<uint64_t>(shard(i), 0, offset_for_time_atom::value, ts);
  }

  caf::error commit(uint32_t i, const std::string& group,
                    uint64_t offset) override {
    auto ok = s_->ask<bool>(shard(i), 0, commit_atom::value, group, offset);
    return ok ? caf::error{} : std::move(ok.error());
  }

 private:
  const shard_actor& shard(uint32_t i) const {
    return meta_.shard_actors.at(i);
  }

  std::unique_ptr<node_session> s_;
  topic_metadata meta_;
};

} // namespace

std::string topic_node::address() const {
  return host.find(':') != std::string::npos
             ? fmt::format("[{}]:{}", host, port)
             : fmt::format("{}:{}", host, port);
}

caf::expected<topic_node> parse_topic_node(const std::string& text) {
  auto bad = [&] {
    return make_error(config_errc::invalid,
                      "--node: '" + text +
                          "' is not HOST:PORT (a port from 1 to 65535)");
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return bad();
  auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad();
  auto port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    return bad();
  topic_node n;
  n.host = text.substr(0, colon);
  if (n.host.size() > 2 && n.host.front() == '[' && n.host.back() == ']')
    n.host = n.host.substr(1, n.host.size() - 2);
  n.port = static_cast<uint16_t>(port);
  return n;
}

caf::expected<std::unique_ptr<topic_backend>>
open_remote_topic(const topic_node& node, const std::string& name) {
  auto s = std::make_unique<node_session>(node);
  if (auto err = s->connect())
    return err;
  auto meta = lookup(*s, name);
  if (!meta)
    return std::move(meta.error());
  if (meta->shard_actors.size() != meta->shards)
    return make_error(topic_errc::bad_metadata,
                      fmt::format("topic {} on node {}: {} shard handle(s) "
                                  "for {} shard(s)",
                                  name, node.address(),
                                  meta->shard_actors.size(), meta->shards));
  return std::make_unique<remote_topic>(std::move(s), std::move(*meta));
}

caf::expected<std::vector<topic_entry>>
list_remote_topics(const topic_node& node) {
  node_session s{node};
  if (auto err = s.connect())
    return err;
  auto st = s.ask<node_status>(s.node(), 0, status_atom::value);
  if (!st)
    return std::move(st.error());
  std::vector<topic_entry> result;
  for (auto& m : st->components) {
    if (m.kind != "topic")
      continue;
    topic_entry e{m.name, std::nullopt,
                  "node " + st->name + " (" + node.address() + ")"};
    if (auto meta = lookup(s, m.name))
      e.shards = meta->shards;
    result.push_back(std::move(e));
  }
  return result;
}

} // namespace sluice

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "connectors/dead_letter.hpp"
#include "connectors/table_connector.hpp"
#include "connectors/table_files.hpp"
#include "connectors/topic.hpp"
#include "connectors/topic_fetcher.hpp"
#include "runtime/topic_types.hpp"

/// The `topic` table connector: SQL jobs read and write the durable topics
/// a node holds (`[topics.NAME]`), through the node's control port.
///
/// Records are text, one row per record: `csv` (the collection tier's
/// DELIMITED records: the body is one CSV record, a trailing line break
/// allowed), `json` (one object per record) or `raw` (the whole body in
/// the table's one STRING column). The CSV and JSON rules are the
/// filesystem connector's (table_files.hpp).
///
/// Source: one reader per shard at most (`max_splits` = shards); instance
/// i of n reads shards i, i+n, ... Each instance runs a fetcher actor
/// (topic_fetcher.hpp) that prefetches into a bounded queue, so `poll`
/// only drains it. Every poll returns the rows of one shard, and each
/// shard is an input of its own (`inputs`): the scan's watermark is the
/// lowest of the shards that are not idle. A shard is idle while it has
/// nothing to read and has had nothing for `scan.watermark.idle-timeout`
/// (1 s when unset), or, bounded, once it reached its end.
/// Offsets: the group's position of a shard is the offset after the last
/// record `poll` returned; it is committed every `scan.commit.interval`
/// and at close. A restart with `group-offsets` therefore reads on after
/// the last rows the job read, not the last rows its sinks wrote: rows in
/// flight or in open windows when the job stopped are not read again.
/// Bounded (`scan.bounded.mode` = `latest-offset`): each shard ends at the
/// durable end offset it had when the job started.
///
/// Sink: each row becomes one event (record) of the topic. With
/// `key.fields`, a row's shard is the hash of its key columns' text (the
/// collection tier's topic sink hashes the same way; the key goes in a
/// header named after each column), else each write goes whole to one
/// shard chosen by round robin. Each write is appended under a producer id
/// of its own and a sequence number, so an append retried after a timeout
/// or a shard restart is dropped as a duplicate by the shard; a restarted
/// job writes again what it writes again (at-least-once).
namespace sluice {

/// The settings of a `topic` table, from its validated options.
struct topic_table_settings {
  enum class value_format { csv, json, raw };
  std::string topic;
  /// `address`: the node holding the topic; port 0 when not set (a job of
  /// a topology finds the topic through `table_context::find_topic`).
  topic_address address;
  std::string group; ///< `properties.group.id`; empty: no commits
  topic_start start;
  bool bounded = false;
  value_format format = value_format::csv;
  table_format text; ///< the CSV and JSON details
  std::vector<std::string> key_fields;
  uint64_t fetch_bytes = uint64_t{1} << 20;
  int64_t timeout_ms = 10'000;
  int64_t commit_interval_ms = 1'000;
  std::string dead_letter; ///< `dead-letter.path`; empty: the default
};

/// The options of both halves of the connector.
std::vector<option_spec> topic_table_options();

/// The settings of validated options (`source`: checks what a source
/// needs, such as a group for `group-offsets`).
caf::expected<topic_table_settings>
topic_table_settings_from(const options& opts, bool source);

/// A topic found through a node: its handle and its shards.
struct topic_link {
  topic_actor topic;
  topic_metadata meta;
};

/// Connects to the node at `at` and asks it for topic `name`, each step
/// within `timeout_ms`. One attempt; blocks the caller.
caf::expected<topic_actor> topic_at_node(caf::actor_system& sys,
                                         const topic_address& at,
                                         const std::string& name,
                                         int64_t timeout_ms);

/// Finds the table's topic (at its `address`, else through
/// `ctx.find_topic`) and asks it for its shards, each step within the
/// table's timeout (a node or topic not up yet is tried again until then).
/// Without either: a permanent error that says to set `address`. Blocks
/// the caller.
caf::expected<topic_link> open_topic_link(const table_context& ctx,
                                          const topic_table_settings& s);

/// "topic NAME at HOST:PORT", or "topic NAME" for one found through the
/// topology: what labels and messages call the table's topic.
std::string topic_label(const topic_table_settings& s);

/// Reads a topic's shards as rows (see above).
class topic_table_source : public table_source {
 public:
  /// Finds the topic (so `max_splits` is known before `open`).
  static caf::expected<std::unique_ptr<topic_table_source>>
  make(const table_context& ctx, topic_table_settings s);

  ~topic_table_source() override;

  caf::error open() override;
  caf::expected<poll_status> poll(columnar::row_batch& out,
                                  size_t max_rows) override;
  uint32_t max_splits() const override;
  /// "shard=offset;..." of the shards this instance reads.
  std::string progress() const override;
  uint32_t inputs() const override;
  uint32_t last_input() const override { return last_input_; }
  bool input_idle(uint32_t i) const override;
  void close() override;

  /// Rows that did not parse, so far.
  uint64_t bad_rows() const noexcept { return dead_.count(); }

 private:
  topic_table_source(const table_context& ctx, topic_table_settings s,
                     topic_link link);

  /// Appends the row of one record; a bad one goes to the dead letters.
  caf::error take(uint32_t shard, uint64_t offset, std::string_view body,
                  columnar::row_batch& out);

  table_context ctx_;
  topic_table_settings s_;
  topic_link link_;
  std::shared_ptr<topic_feed> feed_;
  topic_fetcher_actor fetcher_;
  uint32_t next_ = 0; ///< the shard (local index) the next poll looks at
  uint32_t last_input_ = 0;
  int64_t idle_ms_ = 1'000;
  decode_scratch scratch_;
  dead_letter dead_;
};

/// Appends rows as records to a topic (see above). Inserts only.
class topic_table_sink : public table_sink {
 public:
  static caf::expected<std::unique_ptr<topic_table_sink>>
  make(const table_context& ctx, topic_table_settings s);

  caf::error open() override;
  caf::error write(const columnar::row_batch& rows) override;

  /// Appends that came back as duplicates (retries), so far.
  uint64_t duplicates() const noexcept { return duplicates_; }

 private:
  topic_table_sink(const table_context& ctx, topic_table_settings s,
                   std::vector<uint32_t> keys);

  /// Appends `batch` to shard `shard` as (producer_, seq): retried on a
  /// full disk and after a shard restart, within the timeout.
  caf::error append(uint32_t shard, uint64_t seq, const event_batch& batch);

  table_context ctx_;
  topic_table_settings s_;
  std::vector<uint32_t> keys_; ///< key columns
  topic_link link_;
  std::string producer_;
  uint64_t seq_ = 0;
  uint64_t duplicates_ = 0;
  std::vector<uint32_t> active_;
  std::string text_;
};

} // namespace sluice

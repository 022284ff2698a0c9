#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "connectors/table_topic.hpp"
#include "connectors/topic_common.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

using std::chrono::milliseconds;

/// The text of physical row `row` of `b` as one record body.
void encode_row(const columnar::row_batch& b, size_t row,
                const topic_table_settings& s, std::string& out) {
  out.clear();
  switch (s.format) {
  case topic_table_settings::value_format::raw:
    if (b.col(0).valid(row))
      columnar::append_value(b.col(0), row, out);
    return;
  case topic_table_settings::value_format::csv:
    csv_encode_row(b, row, s.text, out);
    break;
  case topic_table_settings::value_format::json:
    json_encode_row(b, row, s.text, out);
    break;
  }
  if (!out.empty() && out.back() == '\n')
    out.pop_back(); // a record is one row: no line break
}

} // namespace

topic_table_sink::topic_table_sink(const table_context& ctx,
                                   topic_table_settings s,
                                   std::vector<uint32_t> keys)
    : ctx_(ctx), s_(std::move(s)), keys_(std::move(keys)) {}

caf::expected<std::unique_ptr<topic_table_sink>>
topic_table_sink::make(const table_context& ctx, topic_table_settings s) {
  if (ctx.system == nullptr)
    return make_error(connector_errc::unsupported,
                      "table '" + ctx.name +
                          "': the topic connector runs inside a job only");
  auto& fields = ctx.schema->fields;
  if (s.format == topic_table_settings::value_format::raw &&
      (fields.size() != 1 || fields[0].type.id != columnar::type_id::string))
    return make_permanent(make_error(
        config_errc::invalid, "table '" + ctx.name +
                                  "': format 'raw' needs exactly one physical "
                                  "STRING column"));
  std::vector<uint32_t> keys;
  for (auto& name : s.key_fields) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](auto& f) { return f.name == name; });
    if (it == fields.end())
      return make_permanent(make_error(
          config_errc::invalid, "table '" + ctx.name + "': key.fields names '" +
                                    name + "', which is not a column"));
    keys.push_back(static_cast<uint32_t>(it - fields.begin()));
  }
  return std::unique_ptr<topic_table_sink>{
      new topic_table_sink(ctx, std::move(s), std::move(keys))};
}

caf::error topic_table_sink::open() {
  auto link = open_topic_link(ctx_, s_);
  if (!link) {
    auto err =
        make_error(topic_errc::io_error,
                   "table '" + ctx_.name + "': " + describe(link.error()));
    return is_permanent(link.error()) ? make_permanent(std::move(err)) : err;
  }
  link_ = std::move(*link);
  // A producer of its own per opening: the shards drop a retried append
  // of it, never another run's batch that happens to carry the same seq.
  std::random_device rd;
  producer_ =
      fmt::format("sql/{}#{}/{:08x}{:08x}", ctx_.name, ctx_.split, rd(), rd());
  seq_ = 0;
  return {};
}

caf::error topic_table_sink::append(uint32_t shard, uint64_t seq,
                                    const event_batch& batch) {
  auto deadline =
      std::chrono::steady_clock::now() + milliseconds{s_.timeout_ms};
  int64_t backoff = 100;
  int refreshes = 0;
  caf::scoped_actor self{*ctx_.system};
  for (;;) {
    caf::error err;
    self->request(link_.meta.shard_actors.at(shard),
                  milliseconds{s_.timeout_ms}, append_atom::value, producer_,
                  seq, batch)
        .receive(
            [&](append_result& r) {
              if (r.duplicate)
                duplicates_ += batch.size();
            },
            [&](caf::error& e) { err = std::move(e); });
    if (!err) {
      if (ctx_.metrics)
        ctx_.metrics->add_out(batch.size(), batch.byte_size());
      return {};
    }
    auto late = std::chrono::steady_clock::now() >= deadline;
    if (err == make_error(topic_errc::disk_full) && !late) {
      // Backpressure: the job's sources wait at their credit meanwhile.
      std::this_thread::sleep_for(milliseconds{backoff});
      backoff = std::min<int64_t>(backoff * 2, 2'000);
      continue;
    }
    if (is_stale_shard_error(err) && refreshes < max_shard_refreshes && !late) {
      // The shard restarts under its topic: ask for the new handles and
      // append again (the shard drops the copy it already holds).
      std::this_thread::sleep_for(
          milliseconds{shard_refresh_backoff_ms(refreshes++)});
      self->request(link_.topic, milliseconds{s_.timeout_ms},
                    metadata_atom::value)
          .receive(
              [&](topic_metadata& m) {
                if (m.shard_actors.size() == link_.meta.shards)
                  link_.meta = std::move(m);
              },
              [](caf::error&) {}); // the next append says what is wrong
      continue;
    }
    return make_error(topic_errc::io_error,
                      fmt::format("table '{}': append to shard {} of topic "
                                  "{}: {}",
                                  ctx_.name, shard, s_.topic, describe(err)));
  }
}

caf::error topic_table_sink::write(const columnar::row_batch& rows) {
  auto n = link_.meta.shards;
  if (n == 0)
    return make_error(connector_errc::io_error,
                      "sink " + ctx_.name + " is not open");
  std::vector<event_batch> parts(keys_.empty() ? 1 : n);
  std::string key;
  std::string value;
  for (auto i : rows.active(active_)) {
    if (auto k = rows.kind(i); k != columnar::row_kind::insert)
      return make_permanent(
          make_error(connector_errc::unsupported,
                     "table '" + ctx_.name +
                         "': the topic connector takes inserts only, "
                         "got a " +
                         columnar::to_string(k) + " row"));
    encode_row(rows, i, s_, text_);
    if (keys_.empty()) {
      parts[0].append(text_);
      continue;
    }
    key.clear();
    for (size_t k = 0; k < keys_.size(); ++k) {
      value.clear();
      if (rows.col(keys_[k]).valid(i))
        columnar::append_value(rows.col(keys_[k]), i, value);
      if (k > 0)
        key += s_.text.delimiter;
      key += value;
    }
    auto& part = parts[topic_shard_for_key(key, n)];
    part.append(text_);
    for (size_t k = 0; k < keys_.size(); ++k) {
      value.clear();
      if (rows.col(keys_[k]).valid(i))
        columnar::append_value(rows.col(keys_[k]), i, value);
      part.add_header(ctx_.schema->fields[keys_[k]].name, value);
    }
  }
  // One seq per write: every shard's part of it carries the same name,
  // as the collection tier's topic sink does.
  auto seq = ++seq_;
  for (uint32_t p = 0; p < parts.size(); ++p) {
    if (parts[p].empty())
      continue;
    auto shard = keys_.empty() ? topic_shard_for_batch(producer_, seq, n) : p;
    if (auto err = append(shard, seq, parts[p]))
      return err;
  }
  return {};
}

} // namespace sluice

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <fmt/format.h>

#include "connectors/table_topic.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

int64_t clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// `body` without a trailing line break (LF or CRLF).
std::string_view record_text(std::string_view body) {
  if (!body.empty() && body.back() == '\n')
    body.remove_suffix(1);
  if (!body.empty() && body.back() == '\r')
    body.remove_suffix(1);
  return body;
}

} // namespace

topic_table_source::topic_table_source(const table_context& ctx,
                                       topic_table_settings s, topic_link link)
    : ctx_(ctx), s_(std::move(s)), link_(std::move(link)),
      feed_(std::make_shared<topic_feed>()),
      dead_(dead_letter_path(s_.dead_letter.empty() ? ctx.dead_letter_path
                                                    : s_.dead_letter,
                             ctx.name)) {
  auto splits = std::max<uint32_t>(ctx_.splits, 1);
  for (uint32_t i = ctx_.split; i < link_.meta.shards; i += splits) {
    topic_feed::shard sh;
    sh.index = i;
    feed_->shards.push_back(std::move(sh));
  }
  if (ctx_.idle_timeout_ms > 0)
    idle_ms_ = ctx_.idle_timeout_ms;
}

caf::expected<std::unique_ptr<topic_table_source>>
topic_table_source::make(const table_context& ctx, topic_table_settings s) {
  if (ctx.system == nullptr)
    return make_error(connector_errc::unsupported,
                      "table '" + ctx.name +
                          "': the topic connector runs inside a job only");
  if (s.format == topic_table_settings::value_format::raw &&
      (ctx.schema->size() != 1 ||
       ctx.schema->fields[0].type.id != columnar::type_id::string))
    return make_permanent(make_error(
        config_errc::invalid, "table '" + ctx.name +
                                  "': format 'raw' needs exactly one physical "
                                  "STRING column"));
  auto link = open_topic_link(ctx, s);
  if (!link) {
    auto err =
        make_error(topic_errc::io_error,
                   "table '" + ctx.name + "': " + describe(link.error()));
    return is_permanent(link.error()) ? make_permanent(std::move(err)) : err;
  }
  return std::unique_ptr<topic_table_source>{
      new topic_table_source(ctx, std::move(s), std::move(*link))};
}

topic_table_source::~topic_table_source() {
  close();
}

caf::error topic_table_source::open() {
  if (feed_->shards.empty())
    return {};
  topic_fetcher_config cfg;
  cfg.label = fmt::format("table {} ({}) split {}", ctx_.name, topic_label(s_),
                          ctx_.split);
  cfg.topic = link_.topic;
  cfg.meta = link_.meta;
  cfg.feed = feed_;
  cfg.group = s_.group;
  cfg.start = s_.start;
  cfg.bounded = s_.bounded;
  cfg.fetch_bytes = s_.fetch_bytes;
  cfg.queue_bytes = std::max<uint64_t>(4 * s_.fetch_bytes, 1 << 20);
  cfg.timeout_ms = s_.timeout_ms;
  cfg.commit_interval_ms = s_.commit_interval_ms;
  fetcher_ = spawn_topic_fetcher(*ctx_.system, std::move(cfg));
  return {};
}

uint32_t topic_table_source::max_splits() const {
  return std::max<uint32_t>(link_.meta.shards, 1);
}

uint32_t topic_table_source::inputs() const {
  return std::max<uint32_t>(static_cast<uint32_t>(feed_->shards.size()), 1);
}

bool topic_table_source::input_idle(uint32_t i) const {
  std::lock_guard guard{feed_->mtx};
  if (i >= feed_->shards.size())
    return true;
  auto& s = feed_->shards[i];
  if (!s.batches.empty())
    return false;
  if (s.at_end)
    return true;
  return s.started && s.caught_up && clock_ms() - s.last_rows_ms >= idle_ms_;
}

std::string topic_table_source::progress() const {
  std::lock_guard guard{feed_->mtx};
  std::string out;
  for (auto& s : feed_->shards) {
    if (!out.empty())
      out += ';';
    out += fmt::format("{}={}", s.index, s.next);
  }
  return out;
}

caf::error topic_table_source::take(uint32_t shard, uint64_t offset,
                                    std::string_view body,
                                    columnar::row_batch& out) {
  using vf = topic_table_settings::value_format;
  if (s_.format == vf::raw) {
    out.col(0).push_str(body);
    return {};
  }
  auto text = record_text(body);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return {}; // an empty record holds no row
  if (s_.format == vf::csv && s_.text.allow_comments && text.front() == '#')
    return {};
  auto err = s_.format == vf::csv
                 ? csv_decode_row(text, s_.text, out, scratch_)
                 : json_decode_row(text, s_.text, out, scratch_);
  if (!err)
    return {};
  if (ctx_.metrics)
    ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  return dead_.add(fmt::format("topic {} shard {}", s_.topic, shard), offset,
                   reason_of(err), text);
}

caf::expected<poll_status> topic_table_source::poll(columnar::row_batch& out,
                                                    size_t max_rows) {
  auto& feed = *feed_;
  std::lock_guard guard{feed.mtx};
  if (feed.failure)
    return feed.failure;
  auto n = static_cast<uint32_t>(feed.shards.size());
  if (n == 0)
    return poll_status::finished;
  // One shard per poll (the scan keeps a watermark per shard), in turn.
  topic_feed::shard* s = nullptr;
  for (uint32_t k = 0; k < n && s == nullptr; ++k) {
    auto i = (next_ + k) % n;
    if (!feed.shards[i].batches.empty()) {
      s = &feed.shards[i];
      last_input_ = i;
    }
  }
  if (s == nullptr) {
    if (s_.bounded && std::all_of(feed.shards.begin(), feed.shards.end(),
                                  [](auto& x) { return x.at_end; }))
      return poll_status::finished;
    return poll_status::idle;
  }
  next_ = (last_input_ + 1) % n;
  auto before = out.num_rows();
  uint64_t bytes = 0;
  while (!s->batches.empty() && out.num_rows() - before < max_rows) {
    auto& rb = s->batches.front();
    auto size = rb.batch.size();
    auto first = rb.base_offset;
    for (size_t r = 0; r < size && out.num_rows() - before < max_rows; ++r) {
      auto offset = first + r;
      if (offset < s->next)
        continue; // read before (the fetch started inside this batch)
      if (offset >= s->end)
        break; // bounded: past the end seen at start
      auto body = rb.batch.body(r);
      bytes += body.size();
      if (auto err = take(s->index, offset, body, out))
        return err;
      s->next = offset + 1;
    }
    auto done = first + size;
    if (s->next >= done || s->next >= s->end) {
      s->bytes -= std::min(s->bytes, rb.batch.byte_size());
      s->batches.pop_front();
    }
  }
  if (ctx_.metrics && bytes > 0)
    ctx_.metrics->bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  return poll_status::more;
}

void topic_table_source::close() {
  if (fetcher_) {
    // The fetcher commits the positions read once more before it quits.
    caf::scoped_actor self{*ctx_.system};
    self->request(fetcher_, std::chrono::milliseconds{s_.timeout_ms + 1'000},
                  stop_atom::value)
        .receive([](bool) {},
                 [&](caf::error& err) {
                   log().warn("table {}: the last commit of its offsets "
                              "failed: {}",
                              ctx_.name, describe(err));
                 });
    fetcher_ = nullptr;
  }
  static_cast<void>(dead_.close());
}

} // namespace sluice

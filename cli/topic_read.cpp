#include "cli/topic_read.hpp"

#include <algorithm>
#include <charconv>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/topic.hpp"
#include "connectors/topic_common.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// Bytes one fetch asks for.
constexpr uint64_t fetch_bytes = uint64_t{1} << 20;

/// How long one long poll of `tail --follow` waits before it looks for
/// Ctrl-C again.
constexpr int64_t follow_wait_ms = 500;

int usage(const std::string& what) {
  std::cerr << "sluice topic: " << what << '\n';
  return exit_usage;
}

int failed(const caf::error& err) {
  std::cerr << "sluice topic: " << describe(err) << '\n';
  return exit_failed;
}

bool parse_u64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

/// One event as `tail --headers` prints it (before its body).
std::string header_prefix(uint32_t shard, uint64_t offset, int64_t ts,
                          const event_batch& b, size_t i) {
  std::string hs;
  for (auto& h : b.headers(i)) {
    if (!hs.empty())
      hs += ',';
    hs += b.key(h);
    hs += '=';
    hs += b.value(h);
  }
  return fmt::format("{}\t{}\t{}\t{}\t", shard, offset, ts,
                     hs.empty() ? "-" : hs);
}

std::optional<uint64_t> lag(const topic_shard_view& s,
                            const std::optional<uint64_t>& committed) {
  if (!committed)
    return std::nullopt;
  return s.end - std::min(s.end, std::max(*committed, s.start));
}

template <class T>
std::string opt_text(const std::optional<T>& x) {
  return x ? std::to_string(*x) : std::string{"-"};
}

template <class T>
nlohmann::json opt_json(const std::optional<T>& x) {
  return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
}

} // namespace

int topic_tail(const topic_cmd_options& opts, topic_backend& b) {
  std::vector<uint32_t> which;
  if (opts.shard) {
    if (*opts.shard >= b.shards())
      return usage(fmt::format("--shard {}: the topic has shards 0 to {}",
                               *opts.shard, b.shards() - 1));
    which.push_back(*opts.shard);
  } else {
    for (uint32_t i = 0; i < b.shards(); ++i)
      which.push_back(i);
  }
  auto from = parse_topic_start(opts.from);
  if (!from)
    return usage("--from: " + describe(from.error()));
  using kind = topic_start::kind;
  if (from->from == kind::committed && opts.groups.size() != 1)
    return usage("--from committed needs one --group");
  auto view = b.describe(
      from->from == kind::committed ? opts.groups : std::vector<std::string>{});
  if (!view)
    return failed(view.error());
  std::vector<uint64_t> pos, limit;
  for (auto k : which) {
    auto& s = view->shard_views[k];
    uint64_t p = s.start;
    switch (from->from) {
    case kind::earliest:
      break;
    case kind::latest:
      p = s.end;
      break;
    case kind::offset:
      if (from->offset > s.end)
        return failed(
            make_error(topic_errc::bad_request,
                       fmt::format("--from offset:{} is past shard {}'s end {}",
                                   from->offset, k, s.end)));
      p = std::max(from->offset, s.start);
      break;
    case kind::timestamp: {
      auto o = b.offset_for_time(k, from->timestamp_ms);
      if (!o)
        return failed(o.error());
      p = *o;
      break;
    }
    case kind::committed:
      if (auto& c = view->groups.begin()->second[k])
        p = std::max(*c, s.start);
      break;
    }
    pos.push_back(p);
    limit.push_back(s.end);
  }
  uint64_t printed = 0;
  std::vector<bool> done(which.size(), false);
  for (;;) {
    if (opts.interrupted && opts.interrupted->load())
      break;
    std::vector<uint32_t> ask;
    std::vector<uint64_t> at;
    std::vector<size_t> slot;
    for (size_t i = 0; i < which.size(); ++i)
      if (opts.follow || (!done[i] && pos[i] < limit[i])) {
        ask.push_back(which[i]);
        at.push_back(pos[i]);
        slot.push_back(i);
      }
    if (ask.empty())
      break;
    auto results =
        b.fetch_many(ask, at, fetch_bytes, opts.follow ? follow_wait_ms : 0);
    if (!results)
      return failed(results.error());
    // The answers may come from another node: print nothing malformed.
    for (auto& res : *results)
      if (auto err = check_fetched(res))
        return failed(err);
    bool full = false;
    for (size_t r = 0; r < results->size() && !full; ++r) {
      auto i = slot[r];
      auto& res = (*results)[r];
      if (res.batches.empty() && !opts.follow)
        done[i] = true;
      for (auto& rb : res.batches) {
        for (size_t e = 0; e < rb.batch.size() && !full; ++e) {
          auto offset = rb.base_offset + e;
          if (offset < pos[i])
            continue;
          if (!opts.follow && offset >= limit[i]) {
            done[i] = true;
            break;
          }
          if (opts.headers)
            std::cout << header_prefix(which[i], offset, rb.timestamp_ms,
                                       rb.batch, e);
          std::cout << rb.batch.body(e) << '\n';
          pos[i] = offset + 1;
          full = opts.count > 0 && ++printed >= opts.count;
        }
      }
    }
    std::cout.flush();
    if (full)
      break;
  }
  return exit_ok;
}

int topic_offsets(const topic_cmd_options& opts, topic_backend& b) {
  if (opts.groups.size() != 1)
    return usage("offsets needs one --group G");
  auto& group = opts.groups.front();
  if (!opts.commits.empty() && !opts.reset.empty())
    return usage("give --commit or --reset, not both");
  std::vector<std::pair<uint32_t, uint64_t>> changes;
  for (auto& c : opts.commits) {
    auto eq = c.find('=');
    uint64_t shard = 0, offset = 0;
    if (eq == std::string::npos ||
        !parse_u64(std::string_view{c}.substr(0, eq), shard) ||
        !parse_u64(std::string_view{c}.substr(eq + 1), offset))
      return usage("--commit: '" + c + "' is not SHARD=OFFSET");
    if (shard >= b.shards())
      return usage(fmt::format("--commit {}: the topic has shards 0 to {}", c,
                               b.shards() - 1));
    changes.emplace_back(static_cast<uint32_t>(shard), offset);
  }
  if (!opts.reset.empty()) {
    auto to = parse_topic_start(opts.reset);
    using kind = topic_start::kind;
    if (!to || to->from == kind::committed || to->from == kind::offset)
      return usage("--reset: '" + opts.reset +
                   "' is not earliest, latest or timestamp:MS");
    auto view = b.describe({});
    if (!view)
      return failed(view.error());
    for (auto& s : view->shard_views) {
      if (opts.shard && *opts.shard != s.index)
        continue;
      uint64_t target = to->from == kind::earliest ? s.start : s.end;
      if (to->from == kind::timestamp) {
        auto o = b.offset_for_time(s.index, to->timestamp_ms);
        if (!o)
          return failed(o.error());
        target = *o;
      }
      changes.emplace_back(s.index, target);
    }
  }
  for (auto& [shard, offset] : changes)
    if (auto err = b.commit(shard, group, offset))
      return failed(err);
  if (auto err = b.flush())
    return failed(err);
  if (!opts.json)
    for (auto& [shard, offset] : changes)
      std::cout << "group " << group << ": shard " << shard << " committed at "
                << offset << '\n';
  auto view = b.describe({group});
  if (!view)
    return failed(view.error());
  auto& committed = view->groups[group];
  committed.resize(view->shards);
  if (opts.json) {
    auto shards = nlohmann::json::array();
    for (auto& s : view->shard_views)
      shards.push_back({{"shard", s.index},
                        {"committed", opt_json(committed[s.index])},
                        {"start", s.start},
                        {"end", s.end},
                        {"lag", opt_json(lag(s, committed[s.index]))}});
    nlohmann::json j{
        {"topic", view->name}, {"group", group}, {"shards", shards}};
    std::cout << j.dump(2) << '\n';
    return exit_ok;
  }
  std::cout << "topic " << view->name << ", group " << group << ":\n";
  std::vector<std::vector<std::string>> rows{
      {"SHARD", "COMMITTED", "START", "END", "LAG"}};
  for (auto& s : view->shard_views)
    rows.push_back({std::to_string(s.index), opt_text(committed[s.index]),
                    std::to_string(s.start), std::to_string(s.end),
                    opt_text(lag(s, committed[s.index]))});
  std::vector<size_t> widths(5, 0);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i)
      widths[i] = std::max(widths[i], r[i].size());
  for (auto& r : rows) {
    std::string line = "  ";
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size())
        line += std::string(widths[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
  return exit_ok;
}

} // namespace sluice

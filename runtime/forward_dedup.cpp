#include "runtime/forward_dedup.hpp"

#include <charconv>
#include <iterator>
#include <limits>

#include "runtime/errors.hpp"

namespace sluice {

bool forward_dedup::contains(const std::string& producer, uint64_t seq) const {
  auto p = producers_.find(producer);
  if (p == producers_.end())
    return false;
  auto& ranges = p->second.ranges;
  auto i = ranges.upper_bound(seq);
  if (i == ranges.begin())
    return false;
  --i;
  return seq <= i->second;
}

void forward_dedup::add_range(producer_state& p, uint64_t first,
                              uint64_t last) {
  auto& ranges = p.ranges;
  // Merge with every range that overlaps or touches [first, last].
  auto i = ranges.upper_bound(first);
  if (i != ranges.begin()) {
    auto prev = std::prev(i);
    if (prev->second == std::numeric_limits<uint64_t>::max() ||
        prev->second + 1 >= first) {
      first = prev->first;
      last = std::max(last, prev->second);
      i = ranges.erase(prev);
    }
  }
  while (i != ranges.end() && (last == std::numeric_limits<uint64_t>::max() ||
                               i->first <= last + 1)) {
    last = std::max(last, i->second);
    i = ranges.erase(i);
  }
  ranges.emplace(first, last);
  while (ranges.size() > max_intervals_)
    ranges.erase(ranges.begin());
}

void forward_dedup::insert(const std::string& producer, uint64_t seq) {
  auto& p = producers_[producer];
  p.last_use = ++clock_;
  add_range(p, seq, seq);
  trim();
}

void forward_dedup::trim() {
  while (producers_.size() > max_producers_) {
    auto oldest = producers_.begin();
    for (auto i = producers_.begin(); i != producers_.end(); ++i)
      if (i->second.last_use < oldest->second.last_use)
        oldest = i;
    producers_.erase(oldest);
  }
}

size_t forward_dedup::intervals(const std::string& producer) const {
  auto p = producers_.find(producer);
  return p == producers_.end() ? 0 : p->second.ranges.size();
}

std::string forward_dedup::to_token() const {
  std::string out;
  // Least recently used first, so a reader that trims keeps the newest.
  std::multimap<uint64_t, const std::string*> by_use;
  for (auto& [name, p] : producers_)
    by_use.emplace(p.last_use, &name);
  for (auto& [use, name] : by_use) {
    out += *name;
    for (auto& [first, last] : producers_.at(*name).ranges) {
      out += ' ';
      out += std::to_string(first);
      out += '-';
      out += std::to_string(last);
    }
    out += '\n';
  }
  return out;
}

caf::expected<forward_dedup> forward_dedup::from_token(const std::string& token,
                                                       size_t max_producers,
                                                       size_t max_intervals) {
  forward_dedup result{max_producers, max_intervals};
  auto bad = [](const std::string& why) {
    return make_error(config_errc::invalid,
                      "unreadable forward progress token: " + why);
  };
  size_t pos = 0;
  while (pos < token.size()) {
    auto end = token.find('\n', pos);
    if (end == std::string::npos)
      return bad("a line without its end");
    std::string_view line{token.data() + pos, end - pos};
    pos = end + 1;
    auto space = line.find(' ');
    auto name = std::string{line.substr(0, space)};
    if (name.empty())
      return bad("a line without a producer");
    auto& p = result.producers_[name];
    p.last_use = ++result.clock_;
    while (space != std::string_view::npos) {
      auto next = line.find(' ', space + 1);
      auto item = line.substr(space + 1, next == std::string_view::npos
                                             ? std::string_view::npos
                                             : next - space - 1);
      space = next;
      auto dash = item.find('-');
      if (dash == std::string_view::npos)
        return bad("an interval without '-'");
      uint64_t first = 0, last = 0;
      auto r1 = std::from_chars(item.data(), item.data() + dash, first);
      auto r2 = std::from_chars(item.data() + dash + 1,
                                item.data() + item.size(), last);
      if (r1.ec != std::errc{} || r1.ptr != item.data() + dash ||
          r2.ec != std::errc{} || r2.ptr != item.data() + item.size() ||
          last < first)
        return bad("an interval that is not FIRST-LAST");
      result.add_range(p, first, last);
    }
  }
  result.trim();
  return result;
}

} // namespace sluice

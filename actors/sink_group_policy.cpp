#include "actors/sink_group_policy.hpp"

#include <algorithm>
#include <set>

#include "runtime/errors.hpp"

namespace sluice {

using std::chrono::milliseconds;

std::string to_string(member_state x) {
  switch (x) {
  case member_state::live:
    return "live";
  case member_state::penalized:
    return "penalized";
  case member_state::probing:
    return "probing";
  }
  return "unknown";
}

milliseconds exponential_penalty(milliseconds base, milliseconds cap,
                                 uint64_t failures) {
  if (failures == 0 || base.count() <= 0)
    return milliseconds{0};
  auto limit = cap.count();
  auto shift = failures - 1;
  // base << shift fits below the cap only while base <= cap >> shift.
  if (shift >= 62 || base.count() > (limit >> shift))
    return cap;
  return milliseconds{std::min(limit, base.count() << shift)};
}

sink_group_policy::time_point sink_group_policy::failed(size_t i,
                                                        time_point now) {
  auto& m = members_.at(i);
  if (m.failures < UINT64_MAX)
    ++m.failures;
  m.state = member_state::penalized;
  m.penalty = penalty_for(m.failures);
  m.until = now + m.penalty;
  return m.until;
}

bool sink_group_policy::probe_due(size_t i, time_point now) const {
  auto& m = members_.at(i);
  return m.state == member_state::penalized && now >= m.until;
}

void sink_group_policy::probing(size_t i) {
  members_.at(i).state = member_state::probing;
}

void sink_group_policy::probe_passed(size_t i) {
  members_.at(i).state = member_state::live;
}

sink_group_policy::time_point sink_group_policy::probe_failed(size_t i,
                                                              time_point now) {
  return failed(i, now);
}

void sink_group_policy::succeeded(size_t i) {
  auto& m = members_.at(i);
  m.failures = 0;
  m.penalty = milliseconds{0};
}

bool sink_group_policy::all_down() const {
  return std::none_of(members_.begin(), members_.end(),
                      [](auto& m) { return m.state == member_state::live; });
}

caf::expected<std::unique_ptr<failover_policy>>
failover_policy::make(std::vector<member_status> members, milliseconds penalty,
                      milliseconds max_penalty) {
  if (members.empty())
    return make_error(config_errc::invalid, "a failover group needs a member");
  if (penalty.count() <= 0)
    return make_error(config_errc::invalid, "the penalty must be positive");
  if (max_penalty < penalty)
    return make_error(config_errc::invalid,
                      "maxpenalty must be at least the penalty");
  std::set<int64_t> seen;
  for (auto& m : members)
    if (!seen.insert(m.priority).second)
      return make_error(config_errc::invalid,
                        "priority " + std::to_string(m.priority) +
                            " is given to two members; priorities must differ");
  return std::unique_ptr<failover_policy>{
      new failover_policy(std::move(members), penalty, max_penalty)};
}

bool failover_policy::eligible(size_t i) const {
  auto a = active();
  return a && *a == i;
}

std::optional<size_t> failover_policy::choose(const std::vector<bool>& ready) {
  auto a = active();
  if (a && *a < ready.size() && ready[*a])
    return a;
  return std::nullopt;
}

std::optional<size_t> failover_policy::active() const {
  std::optional<size_t> best;
  for (size_t i = 0; i < members_.size(); ++i)
    if (members_[i].state == member_state::live &&
        (!best || members_[i].priority > members_[*best].priority))
      best = i;
  return best;
}

milliseconds failover_policy::penalty_for(uint64_t failures) const {
  return exponential_penalty(penalty_, max_penalty_, failures);
}

caf::expected<std::unique_ptr<load_balance_policy>> load_balance_policy::make(
    std::vector<member_status> members, lb_selector selector, bool backoff,
    milliseconds max_timeout, uint64_t seed, milliseconds retry) {
  if (members.empty())
    return make_error(config_errc::invalid,
                      "a load_balance group needs a member");
  if (retry.count() <= 0 || max_timeout < retry)
    return make_error(config_errc::invalid, "max_timeout must be at least " +
                                                std::to_string(retry.count()) +
                                                " ms");
  return std::unique_ptr<load_balance_policy>{new load_balance_policy(
      std::move(members), selector, backoff, max_timeout, seed, retry)};
}

bool load_balance_policy::eligible(size_t i) const {
  return members_.at(i).state == member_state::live;
}

std::optional<size_t>
load_balance_policy::choose(const std::vector<bool>& ready) {
  auto n = members_.size();
  auto usable = [&](size_t i) {
    return i < ready.size() && ready[i] && eligible(i);
  };
  if (selector_ == lb_selector::round_robin) {
    for (size_t k = 0; k < n; ++k) {
      auto i = (next_ + k) % n;
      if (usable(i)) {
        next_ = (i + 1) % n;
        return i;
      }
    }
    return std::nullopt;
  }
  std::vector<size_t> candidates;
  for (size_t i = 0; i < n; ++i)
    if (usable(i))
      candidates.push_back(i);
  if (candidates.empty())
    return std::nullopt;
  std::uniform_int_distribution<size_t> pick{0, candidates.size() - 1};
  return candidates[pick(rng_)];
}

milliseconds load_balance_policy::penalty_for(uint64_t failures) const {
  if (!backoff_)
    return retry_;
  return exponential_penalty(retry_, max_timeout_, failures);
}

} // namespace sluice

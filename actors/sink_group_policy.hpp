#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace sluice {

/// Where a sink group's member stands.
enum class member_state : uint8_t {
  live,      ///< may be handed leases
  penalized, ///< failed; waits until its penalty ends
  probing,   ///< penalty over; its health check runs
};

std::string to_string(member_state x);

/// One member as a policy sees it.
struct member_status {
  std::string name;
  int64_t priority = 0; ///< failover only; higher wins
  member_state state = member_state::live;
  uint64_t failures = 0;                ///< consecutive, since the last commit
  std::chrono::milliseconds penalty{0}; ///< the penalty of the last failure
  std::chrono::steady_clock::time_point until{}; ///< when the penalty ends
};

/// `base * 2^(failures - 1)`, capped at `cap`, for any `failures` >= 1
/// (0 gives 0); no intermediate value can overflow.
std::chrono::milliseconds exponential_penalty(std::chrono::milliseconds base,
                                              std::chrono::milliseconds cap,
                                              uint64_t failures);

/// How a sink group picks the member that gets the next lease and when a
/// failed member may come back. Plain state, no actors: time comes in as
/// `now`, so tests drive it by hand.
///
/// A member's life: live -> `failed` -> penalized -> (penalty over)
/// `probing` -> `probe_passed` -> live, or `probe_failed` -> penalized with
/// a longer penalty. A commit (`succeeded`) resets its failure count.
class sink_group_policy {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~sink_group_policy() = default;

  size_t size() const noexcept { return members_.size(); }

  const member_status& member(size_t i) const { return members_.at(i); }

  const std::vector<member_status>& members() const noexcept {
    return members_;
  }

  /// Member `i` failed (rolled back, died, refused to start): it is
  /// penalized from `now`. Returns when its penalty ends.
  time_point failed(size_t i, time_point now);

  /// True when member `i` is penalized and its penalty has passed.
  bool probe_due(size_t i, time_point now) const;

  /// Member `i`'s health check started.
  void probing(size_t i);

  /// Member `i`'s health check passed: it is live again.
  void probe_passed(size_t i);

  /// Member `i`'s health check failed: penalized again, for longer.
  time_point probe_failed(size_t i, time_point now);

  /// Member `i` committed a lease: its failures are forgiven.
  void succeeded(size_t i);

  /// True when member `i` may be handed a lease now.
  virtual bool eligible(size_t i) const = 0;

  /// The member that gets the next lease among those `ready` (eligible and
  /// waiting for one); none when no ready member is eligible.
  virtual std::optional<size_t> choose(const std::vector<bool>& ready) = 0;

  /// The member leases go to now (failover: the live member of highest
  /// priority); none when every member is down or the policy spreads work.
  virtual std::optional<size_t> active() const = 0;

  /// True when no member is live.
  bool all_down() const;

 protected:
  explicit sink_group_policy(std::vector<member_status> members)
      : members_(std::move(members)) {}

  /// The penalty after `failures` consecutive failures.
  virtual std::chrono::milliseconds penalty_for(uint64_t failures) const = 0;

  std::vector<member_status> members_;
};

/// Failover: the live member of highest priority gets every lease; a failed
/// one is penalized `penalty * 2^(failures-1)`, at most `max_penalty`; once
/// the penalty has passed and its probe passed, leases return to it
/// (failback).
class failover_policy : public sink_group_policy {
 public:
  /// Refuses duplicate priorities, no members, a non-positive penalty and a
  /// `max_penalty` below `penalty`.
  static caf::expected<std::unique_ptr<failover_policy>>
  make(std::vector<member_status> members, std::chrono::milliseconds penalty,
       std::chrono::milliseconds max_penalty);

  bool eligible(size_t i) const override;
  std::optional<size_t> choose(const std::vector<bool>& ready) override;
  std::optional<size_t> active() const override;

 protected:
  std::chrono::milliseconds penalty_for(uint64_t failures) const override;

 private:
  failover_policy(std::vector<member_status> members,
                  std::chrono::milliseconds penalty,
                  std::chrono::milliseconds max_penalty)
      : sink_group_policy(std::move(members)), penalty_(penalty),
        max_penalty_(max_penalty) {}

  std::chrono::milliseconds penalty_;
  std::chrono::milliseconds max_penalty_;
};

/// How load balancing picks among ready members.
enum class lb_selector : uint8_t { round_robin, random };

/// Load balance: every live member gets leases, in turn (round robin) or at
/// random. A failed member is retried after `retry` (1 s by default); with
/// `backoff`, after `retry * 2^(failures-1)`, at most `max_timeout`. A
/// member that comes back is used again.
class load_balance_policy : public sink_group_policy {
 public:
  static caf::expected<std::unique_ptr<load_balance_policy>>
  make(std::vector<member_status> members, lb_selector selector, bool backoff,
       std::chrono::milliseconds max_timeout, uint64_t seed,
       std::chrono::milliseconds retry = std::chrono::seconds{1});

  bool eligible(size_t i) const override;
  std::optional<size_t> choose(const std::vector<bool>& ready) override;
  std::optional<size_t> active() const override { return std::nullopt; }

 protected:
  std::chrono::milliseconds penalty_for(uint64_t failures) const override;

 private:
  load_balance_policy(std::vector<member_status> members, lb_selector selector,
                      bool backoff, std::chrono::milliseconds max_timeout,
                      uint64_t seed, std::chrono::milliseconds retry)
      : sink_group_policy(std::move(members)), selector_(selector),
        backoff_(backoff), max_timeout_(max_timeout), retry_(retry),
        rng_(seed) {}

  lb_selector selector_;
  bool backoff_;
  std::chrono::milliseconds max_timeout_;
  std::chrono::milliseconds retry_;
  size_t next_ = 0; ///< round robin: where the next search starts
  std::mt19937_64 rng_;
};

} // namespace sluice

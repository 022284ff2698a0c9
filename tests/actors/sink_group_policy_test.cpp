#include <chrono>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "actors/sink_group_policy.hpp"

using namespace sluice;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

using time_point = std::chrono::steady_clock::time_point;

std::vector<member_status>
members(std::vector<std::pair<std::string, int64_t>> xs) {
  std::vector<member_status> result;
  for (auto& [name, prio] : xs)
    result.push_back({name, prio});
  return result;
}

std::vector<bool> all_ready(size_t n) {
  return std::vector<bool>(n, true);
}

/// Drives member `i` back to live as the group does: penalty over, probe.
void come_back(sink_group_policy& p, size_t i, time_point now) {
  REQUIRE(p.probe_due(i, now));
  p.probing(i);
  p.probe_passed(i);
}

} // namespace

TEST_CASE("the penalty doubles per consecutive failure up to its cap and "
          "never overflows",
          "[sink_group][policy]") {
  std::vector<int64_t> seq;
  for (uint64_t f = 1; f <= 7; ++f)
    seq.push_back(exponential_penalty(1s, 30s, f).count());
  CHECK(seq ==
        std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000});
  CHECK(exponential_penalty(1s, 30s, 0) == 0ms);
  for (uint64_t f : {uint64_t{62}, uint64_t{63}, uint64_t{64}, uint64_t{65},
                     uint64_t{1000}, uint64_t{UINT64_MAX}})
    CHECK(exponential_penalty(1s, 30s, f) == 30s);
  // A base near the top of the range cannot overflow either.
  auto huge = milliseconds{INT64_MAX / 2};
  CHECK(exponential_penalty(huge, milliseconds{INT64_MAX}, 2) ==
        milliseconds{INT64_MAX / 2 * 2});
  CHECK(exponential_penalty(huge, milliseconds{INT64_MAX}, 3) ==
        milliseconds{INT64_MAX});
}

SCENARIO("failover penalizes a failing member ever longer, capped",
         "[sink_group][policy]") {
  auto p = failover_policy::make(members({{"a", 10}, {"b", 5}}), 1s, 30s);
  REQUIRE(p);
  auto& pol = **p;
  auto t0 = time_point{} + 1h;
  GIVEN("a primary that fails 1000 times in a row") {
    std::vector<int64_t> penalties;
    auto now = t0;
    for (int k = 0; k < 1000; ++k) {
      auto until = pol.failed(0, now);
      penalties.push_back((until - now) / 1ms);
      now = until;
    }
    THEN("its penalties run 1, 2, 4, 8, 16 s, then stay at 30 s") {
      CHECK(std::vector<int64_t>(penalties.begin(), penalties.begin() + 7) ==
            std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000});
      CHECK(penalties.back() == 30000);
      CHECK(pol.member(0).failures == 1000);
      CHECK(pol.member(0).penalty == 30s);
    }
    AND_THEN("a commit forgives its failures") {
      come_back(pol, 0, now);
      pol.succeeded(0);
      CHECK(pol.member(0).failures == 0);
      CHECK((pol.failed(0, now) - now) == 1s);
    }
  }
}

SCENARIO("failover sends leases to the highest live priority and fails back "
         "only after the penalty and a passing probe",
         "[sink_group][policy]") {
  auto p =
      failover_policy::make(members({{"b", 5}, {"a", 10}, {"c", 1}}), 1s, 30s);
  REQUIRE(p);
  auto& pol = **p;
  auto t0 = time_point{} + 1h;
  REQUIRE(pol.active() == 1u); // a: priority 10
  CHECK(pol.choose(all_ready(3)) == 1u);
  CHECK(!pol.choose({true, false, true})); // a busy: nobody else gets one
  WHEN("the primary fails") {
    pol.failed(1, t0);
    THEN("the next priority takes over at once") {
      CHECK(pol.active() == 0u);
      CHECK(pol.choose(all_ready(3)) == 0u);
      CHECK(pol.member(1).state == member_state::penalized);
    }
    THEN("it is not probed before its penalty has passed") {
      CHECK(!pol.probe_due(1, t0 + 999ms));
      CHECK(pol.probe_due(1, t0 + 1s));
    }
    AND_WHEN("its penalty passed and its probe runs") {
      pol.probing(1);
      THEN("the standby keeps the leases while the probe runs") {
        CHECK(pol.active() == 0u);
      }
      AND_WHEN("the probe fails") {
        auto until = pol.probe_failed(1, t0 + 1s);
        THEN("it is penalized again, twice as long, and the standby stays") {
          CHECK(until - (t0 + 1s) == 2s);
          CHECK(pol.active() == 0u);
        }
      }
      AND_WHEN("the probe passes") {
        pol.probe_passed(1);
        THEN("leases go back to it (failback)") {
          CHECK(pol.active() == 1u);
          CHECK(pol.choose(all_ready(3)) == 1u);
        }
      }
    }
  }
  WHEN("every member is down") {
    pol.failed(0, t0);
    pol.failed(1, t0);
    pol.failed(2, t0);
    THEN("nobody is chosen, so the group takes nothing") {
      CHECK(pol.all_down());
      CHECK(!pol.active());
      CHECK(!pol.choose(all_ready(3)));
      for (size_t i = 0; i < 3; ++i)
        CHECK(!pol.eligible(i));
    }
    AND_WHEN("the lowest priority comes back first") {
      come_back(pol, 2, t0 + 1s);
      THEN("it gets the leases") {
        CHECK(pol.choose(all_ready(3)) == 2u);
      }
    }
  }
}

TEST_CASE("failover refuses duplicate priorities and bad penalties",
          "[sink_group][policy]") {
  CHECK(!failover_policy::make(members({{"a", 5}, {"b", 5}}), 1s, 30s));
  CHECK(!failover_policy::make({}, 1s, 30s));
  CHECK(!failover_policy::make(members({{"a", 5}}), 0ms, 30s));
  CHECK(!failover_policy::make(members({{"a", 5}}), 2s, 1s));
}

SCENARIO("round robin hands leases to live members in turn",
         "[sink_group][policy]") {
  auto p = load_balance_policy::make(members({{"a", 0}, {"b", 0}, {"c", 0}}),
                                     lb_selector::round_robin, false, 30s, 1);
  REQUIRE(p);
  auto& pol = **p;
  std::vector<size_t> order;
  for (int k = 0; k < 6; ++k)
    order.push_back(*pol.choose(all_ready(3)));
  CHECK(order == std::vector<size_t>{0, 1, 2, 0, 1, 2});
  WHEN("a member is busy") {
    THEN("the turn passes to the next ready one") {
      CHECK(pol.choose({false, true, true}) == 1u);
      CHECK(pol.choose({true, false, true}) == 2u);
    }
  }
  WHEN("a member fails without back-off") {
    auto t0 = time_point{} + 1h;
    auto until = pol.failed(1, t0);
    THEN("it is skipped, and retried after the fixed 1 s each time") {
      CHECK(until - t0 == 1s);
      CHECK(pol.choose(all_ready(3)) == 0u);
      CHECK(pol.choose(all_ready(3)) == 2u);
      CHECK(pol.choose(all_ready(3)) == 0u);
      come_back(pol, 1, until);
      CHECK(pol.failed(1, until) - until == 1s);
    }
  }
}

TEST_CASE("random selection covers every live member", "[sink_group][policy]") {
  auto p = load_balance_policy::make(
      members({{"a", 0}, {"b", 0}, {"c", 0}, {"d", 0}}), lb_selector::random,
      false, 30s, 42);
  REQUIRE(p);
  auto& pol = **p;
  std::map<size_t, int> hits;
  for (int k = 0; k < 400; ++k)
    ++hits[*pol.choose(all_ready(4))];
  REQUIRE(hits.size() == 4);
  for (auto& [i, n] : hits)
    CHECK(n > 50); // 100 expected each
  pol.failed(2, time_point{} + 1h);
  for (int k = 0; k < 100; ++k)
    CHECK(*pol.choose(all_ready(4)) != 2u);
}

SCENARIO("load balance with back-off waits longer per failure, up to "
         "max_timeout, and uses a member that came back",
         "[sink_group][policy]") {
  auto p = load_balance_policy::make(members({{"a", 0}, {"b", 0}}),
                                     lb_selector::round_robin, true, 5s, 1);
  REQUIRE(p);
  auto& pol = **p;
  auto now = time_point{} + 1h;
  std::vector<int64_t> waits;
  for (int k = 0; k < 5; ++k) {
    auto until = k == 0 ? pol.failed(0, now) : pol.probe_failed(0, now);
    waits.push_back((until - now) / 1ms);
    CHECK(!pol.probe_due(0, until - 1ms));
    now = until;
    // Penalty over, but still down: the probe fails next round.
    REQUIRE(pol.probe_due(0, now));
    pol.probing(0);
  }
  CHECK(waits == std::vector<int64_t>{1000, 2000, 4000, 5000, 5000});
  // Only b is used while a is down.
  CHECK(pol.choose(all_ready(2)) == 1u);
  CHECK(pol.choose(all_ready(2)) == 1u);
  pol.probe_passed(0);
  std::set<size_t> used;
  for (int k = 0; k < 4; ++k)
    used.insert(*pol.choose(all_ready(2)));
  CHECK(used == std::set<size_t>{0, 1});
}

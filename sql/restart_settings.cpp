#include "sql/restart_settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "runtime/option_strings.hpp"
#include "runtime/options.hpp"

namespace sluice::sql {

namespace {

constexpr std::string_view prefix = "restart-strategy";

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Reads one setting at a time, reporting what is wrong to `bad`.
class reader {
 public:
  reader(const std::map<std::string, std::string>& s, const setting_error& bad)
      : s_(s), bad_(bad) {}

  const std::string* find(const std::string& key) const {
    auto i = s_.find(key);
    return i == s_.end() ? nullptr : &i->second;
  }

  void error(const std::string& key, std::string why) const {
    if (bad_)
      bad_(key, std::move(why));
  }

  void duration(const std::string& key, int64_t& out, int64_t min) const {
    auto* v = find(key);
    if (v == nullptr)
      return;
    auto d = parse_flink_duration(*v);
    if (!d || *d < min)
      error(key,
            fmt::format("must be a duration of at least {} ms such as '10 s', "
                        "got '{}'",
                        min, *v));
    else
      out = *d;
  }

  void count(const std::string& key, uint32_t& out, int64_t min) const {
    auto* v = find(key);
    if (v == nullptr)
      return;
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || p != v->data() + v->size() || n < min ||
        n > INT32_MAX)
      error(key, fmt::format("must be an integer from {} to {}, got '{}'", min,
                             INT32_MAX, *v));
    else
      out = static_cast<uint32_t>(n);
  }

  void number(const std::string& key, double& out, double min,
              double max) const {
    auto* v = find(key);
    if (v == nullptr)
      return;
    double d = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
    if (ec != std::errc{} || p != v->data() + v->size() || !(d >= min) ||
        !(d <= max))
      error(key, fmt::format("must be a number from {} to {}, got '{}'", min,
                             max, *v));
    else
      out = d;
  }

 private:
  const std::map<std::string, std::string>& s_;
  const setting_error& bad_;
};

} // namespace

restart_strategy
restart_strategy_of(const std::map<std::string, std::string>& settings,
                    const setting_error& bad) {
  using kind = restart_strategy::kind;
  restart_strategy r;
  reader in{settings, bad};
  for (auto key : {"restart-strategy", "restart-strategy.type"}) {
    auto* v = in.find(key);
    if (v == nullptr)
      continue;
    auto t = lower(*v);
    if (t == "none" || t == "off" || t == "disable")
      r.type = kind::none;
    else if (t == "fixed-delay" || t == "fixeddelay")
      r.type = kind::fixed_delay;
    else if (t == "failure-rate" || t == "failurerate")
      r.type = kind::failure_rate;
    else if (t == "exponential-delay" || t == "exponentialdelay")
      r.type = kind::exponential_delay;
    else
      in.error(key, fmt::format("must be 'none', 'fixed-delay', "
                                "'failure-rate' or 'exponential-delay', got "
                                "'{}'",
                                *v));
  }
  // Each strategy's keys, with Flink's defaults (set above in the struct)
  // where the strategy shares a field.
  restart_strategy fixed = r, rate = r, expo = r;
  in.count("restart-strategy.fixed-delay.attempts", fixed.attempts, 0);
  in.duration("restart-strategy.fixed-delay.delay", fixed.delay_ms, 0);
  in.count("restart-strategy.failure-rate.max-failures-per-interval",
           rate.max_failures, 1);
  in.duration("restart-strategy.failure-rate.failure-rate-interval",
              rate.interval_ms, 1);
  in.duration("restart-strategy.failure-rate.delay", rate.delay_ms, 0);
  in.duration("restart-strategy.exponential-delay.initial-backoff",
              expo.delay_ms, 1);
  in.duration("restart-strategy.exponential-delay.max-backoff",
              expo.max_delay_ms, 1);
  in.number("restart-strategy.exponential-delay.backoff-multiplier",
            expo.multiplier, 1.0, 100.0);
  in.duration("restart-strategy.exponential-delay.reset-backoff-threshold",
              expo.reset_after_ms, 1);
  in.number("restart-strategy.exponential-delay.jitter-factor", expo.jitter,
            0.0, 1.0);
  in.count("restart-strategy.exponential-delay.attempts-before-reset-backoff",
           expo.max_attempts, 1);
  if (expo.max_delay_ms < expo.delay_ms)
    in.error("restart-strategy.exponential-delay.max-backoff",
             fmt::format("({} ms) must not be below the initial back-off ({} "
                         "ms)",
                         expo.max_delay_ms, expo.delay_ms));
  static const std::string_view known[] = {
      "restart-strategy",
      "restart-strategy.type",
      "restart-strategy.fixed-delay.attempts",
      "restart-strategy.fixed-delay.delay",
      "restart-strategy.failure-rate.max-failures-per-interval",
      "restart-strategy.failure-rate.failure-rate-interval",
      "restart-strategy.failure-rate.delay",
      "restart-strategy.exponential-delay.initial-backoff",
      "restart-strategy.exponential-delay.max-backoff",
      "restart-strategy.exponential-delay.backoff-multiplier",
      "restart-strategy.exponential-delay.reset-backoff-threshold",
      "restart-strategy.exponential-delay.jitter-factor",
      "restart-strategy.exponential-delay.attempts-before-reset-backoff",
  };
  for (auto& [key, value] : settings)
    if (key.starts_with(prefix) &&
        std::find(std::begin(known), std::end(known), key) == std::end(known))
      in.error(key, "is not a restart-strategy setting sluice knows");
  switch (r.type) {
  case kind::none:
    return r;
  case kind::fixed_delay:
    return fixed;
  case kind::failure_rate:
    return rate;
  case kind::exponential_delay:
    return expo;
  }
  return r;
}

} // namespace sluice::sql

#include "connectors/lookup_options.hpp"

#include <optional>

#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

constexpr uint64_t default_max_rows = 10'000;

} // namespace

std::vector<option_spec> lookup_option_specs() {
  return {
      {"lookup.cache",
       option_type::string,
       "NONE: every key is read from the table; PARTIAL: recent keys and "
       "their rows are kept (lookup.partial-cache.*)",
       false,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {"NONE", "PARTIAL"}},
      {"lookup.partial-cache.max-rows", option_type::integer,
       "keys the cache keeps at most (each with its rows); 10000 when not "
       "set",
       false, std::nullopt, 1, int64_t{100'000'000}},
      {"lookup.partial-cache.expire-after-write", option_type::duration,
       "a cached key is read again this long after it was read; 0: never",
       false, std::nullopt, 0},
      {"lookup.partial-cache.expire-after-access", option_type::duration,
       "a cached key is dropped when unused this long; 0: never", false,
       std::nullopt, 0},
      {"lookup.partial-cache.cache-missing-key", option_type::boolean,
       "also cache keys the table has no row for", false, std::nullopt},
      {"lookup.cache.max-rows", option_type::integer,
       "older name of lookup.partial-cache.max-rows (turns the cache on)",
       false, std::nullopt, 1, int64_t{100'000'000}},
      {"lookup.cache.ttl", option_type::duration,
       "older name of lookup.partial-cache.expire-after-write", false,
       std::nullopt, 0},
      {"lookup.cache.caching-missing-key", option_type::boolean,
       "older name of lookup.partial-cache.cache-missing-key", false,
       std::nullopt},
      {"lookup.max-retries", option_type::integer,
       "tries again of a lookup that failed for a passing reason (deadlock, "
       "lock wait); then the job fails",
       false, option_value{int64_t{3}}, 0, 1000},
      {"lookup.outage-timeout", option_type::duration,
       "fail after the table's server was unreachable this long; 0 = wait "
       "for it (rows wait in the operator and the sources stop)",
       false, option_value{int64_t{0}}, 0},
  };
}

caf::expected<lookup_settings> lookup_settings_of(const options& opts) {
  lookup_settings s;
  auto has = [&](const char* name) {
    return opts.contains(name);
  };
  auto first_int = [&](const char* a, const char* b) -> std::optional<int64_t> {
    if (has(a))
      return opts.get_int(a);
    if (has(b))
      return opts.get_int(b);
    return std::nullopt;
  };
  auto max_rows =
      first_int("lookup.partial-cache.max-rows", "lookup.cache.max-rows");
  auto write_ttl =
      first_int("lookup.partial-cache.expire-after-write", "lookup.cache.ttl");
  std::optional<int64_t> access_ttl;
  if (has("lookup.partial-cache.expire-after-access"))
    access_ttl = opts.get_int("lookup.partial-cache.expire-after-access");
  bool sized = max_rows || write_ttl || access_ttl;
  if (has("lookup.cache")) {
    s.cache = opts.get_string("lookup.cache") == "PARTIAL";
    if (!s.cache && sized)
      return make_error(config_errc::invalid,
                        "'lookup.cache' = 'NONE' contradicts the cache's size "
                        "or expiry options: set 'lookup.cache' = 'PARTIAL' "
                        "or drop them");
  } else {
    s.cache = sized; // the older options turn the cache on
  }
  s.max_rows = static_cast<uint64_t>(max_rows.value_or(default_max_rows));
  s.write_ttl = write_ttl.value_or(0);
  s.access_ttl = access_ttl.value_or(0);
  if (has("lookup.partial-cache.cache-missing-key"))
    s.cache_missing = opts.get_bool("lookup.partial-cache.cache-missing-key");
  else if (has("lookup.cache.caching-missing-key"))
    s.cache_missing = opts.get_bool("lookup.cache.caching-missing-key");
  if (has("lookup.max-retries"))
    s.max_retries = opts.get_int("lookup.max-retries");
  if (has("lookup.outage-timeout"))
    s.outage_ms = opts.get_int("lookup.outage-timeout");
  return s;
}

void lookup_key_text(const columnar::row_batch& b,
                     std::span<const uint32_t> cols, size_t row,
                     std::string& out) {
  out.clear();
  for (auto c : cols) {
    columnar::append_value(b.col(c), row, out, "\x01");
    out += '\x1f';
  }
}

} // namespace sluice

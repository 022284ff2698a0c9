#pragma once

#include <cstdint>
#include <vector>

#include <span>
#include <string>

#include <caf/expected.hpp>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/options.hpp"

/// The WITH options every lookup table shares, as Flink's lookup joins name
/// them: the cache in front of the table (`lookup.cache`, `lookup.partial-
/// cache.*`, and the older `lookup.cache.max-rows` / `lookup.cache.ttl`),
/// the retries, and how long an unreachable server is waited for. A lookup
/// connector puts `lookup_option_specs()` among its options; the lookup
/// operator reads them with `lookup_settings_of`.
namespace sluice {

/// What the lookup operator does in front of a lookup connector.
struct lookup_settings {
  bool cache = false;        ///< PARTIAL: keep recent keys and their rows
  uint64_t max_rows = 0;     ///< keys kept at most (each with its rows)
  int64_t write_ttl = 0;     ///< ms a cached key stays after it was read; 0: on
  int64_t access_ttl = 0;    ///< ms a cached key stays unused; 0: for ever
  bool cache_missing = true; ///< also cache keys without a row
  int64_t max_retries = 3;   ///< a transient failure, tried again this often
  int64_t outage_ms = 0;     ///< fail after the server was away this long
};

/// The options: lookup.cache ('NONE' or 'PARTIAL'),
/// lookup.partial-cache.max-rows, .expire-after-write,
/// .expire-after-access, .cache-missing-key, lookup.cache.max-rows,
/// lookup.cache.ttl, lookup.cache.caching-missing-key, lookup.max-retries,
/// lookup.outage-timeout.
std::vector<option_spec> lookup_option_specs();

/// The settings of a table's options (checked against the specs). The
/// older names turn the cache on when `lookup.cache` is not set; a
/// PARTIAL cache without a row limit keeps 10,000 keys. Contradicting
/// options (`lookup.cache` = 'NONE' with a cache size) are an error.
caf::expected<lookup_settings> lookup_settings_of(const options& opts);

/// The values of columns `cols` of row `row` as one string (`out` is
/// replaced): equal values give equal strings, an INT and a BIGINT of the
/// same number too. How lookups match the rows a table returns to the
/// keys they were asked for.
void lookup_key_text(const columnar::row_batch& b,
                     std::span<const uint32_t> cols, size_t row,
                     std::string& out);

} // namespace sluice

// End-to-end tests of `sluice sql` on the Nexmark examples: the real binary
// runs examples/sql/qN.sql with its sink turned into a CSV file; the
// expected rows are computed here from the generator library alone (no SQL
// path), with the events in order (out-of-order fraction 0), so no row is
// late.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "connectors/nexmark_model.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t events = 60000;

void replace_all(std::string& s, const std::string& from,
                 const std::string& to) {
  REQUIRE(s.find(from) != std::string::npos);
  for (auto i = s.find(from); i != std::string::npos;
       i = s.find(from, i + to.size()))
    s.replace(i, from.size(), to);
}

/// The example script with its sink writing CSV into `out` and the bids in
/// order.
std::string twin(const std::string& query, const std::string& out) {
  auto text = read_file(std::string{SLUICE_SOURCE_DIR} + "/examples/sql/" +
                        query + ".sql");
  replace_all(text, "WITH ('connector' = 'blackhole')",
              fmt::format("WITH ('connector' = 'filesystem', 'path' = "
                          "'{}/', 'format' = 'csv')",
                          out));
  replace_all(text, "'events.num' = '${env:NEXMARK_EVENTS}'",
              fmt::format("'events.num' = '{}', 'out-of-order.fraction' = "
                          "'0'",
                          events));
  return text;
}

/// The first `n` fields of every line of every file in `dir`.
std::vector<std::vector<std::string>> rows_in(const std::string& dir,
                                              size_t n) {
  std::vector<std::vector<std::string>> result;
  for (auto& e : fs::directory_iterator(dir)) {
    std::ifstream in{e.path()};
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> fields;
      std::stringstream ls{line};
      std::string f;
      while (fields.size() < n && std::getline(ls, f, ','))
        fields.push_back(f);
      result.push_back(std::move(fields));
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

/// Runs `query`'s twin with `parallelism`; returns its output directory.
std::string run_query(const temp_dir& dir, const std::string& query,
                      int parallelism) {
  auto out = dir / fmt::format("{}-p{}", query, parallelism);
  fs::create_directories(out);
  auto script = dir / fmt::format("{}-p{}.sql", query, parallelism);
  std::ofstream{script} << twin(query, out);
  process p;
  auto log = dir / fmt::format("{}-p{}.log", query, parallelism);
  REQUIRE(process::start(p,
                         {SLUICE_BINARY, "sql", script, "--parallelism",
                          std::to_string(parallelism)},
                         log));
  auto code = p.wait(120s);
  INFO(read_file(log));
  REQUIRE(code);
  REQUIRE(*code == 0);
  return out;
}

std::vector<nexmark::bid> all_bids() {
  nexmark::model_config cfg;
  cfg.num_events = events;
  cfg.out_of_order_fraction = 0;
  auto gen = nexmark::generator::make(cfg);
  REQUIRE(gen);
  std::vector<nexmark::bid> result;
  for (uint64_t n = 0; n < events; ++n)
    if (gen->kind(n) == nexmark::event_kind::bid)
      result.push_back(gen->make_bid(n));
  return result;
}

std::string ts_text(int64_t ms) {
  auto secs = ms / 1000;
  return fmt::format("1970-01-01 {:02}:{:02}:{:02}.{:03}", secs / 3600,
                     secs / 60 % 60, secs % 60, ms % 1000);
}

} // namespace

TEST_CASE("Nexmark q0, q1, q2, q5 and q7 give the rows the generator's "
          "events call for, at parallelism 1 and 2",
          "[e2e][sql]") {
  temp_dir dir;
  auto bids = all_bids();
  REQUIRE(bids.size() == events / 50 * 46);
  REQUIRE(bids.back().date_time < 24 * 3600 * 1000);
  for (int par : {1, 2}) {
    DYNAMIC_SECTION("parallelism " << par) {
      // q0: every bid, as generated.
      std::vector<std::vector<std::string>> q0;
      for (auto& b : bids)
        q0.push_back({std::to_string(b.auction), std::to_string(b.bidder),
                      std::to_string(b.price), ts_text(b.date_time)});
      std::sort(q0.begin(), q0.end());
      CHECK(rows_in(run_query(dir, "q0", par), 4) == q0);

      // q1: the price in euros, DECIMAL(23, 3) rounded half up.
      std::vector<std::vector<std::string>> q1;
      for (auto& b : bids) {
        auto milli = b.price * 908; // 0.908 * price, in thousandths
        q1.push_back({std::to_string(b.auction), std::to_string(b.bidder),
                      fmt::format("{}.{:03}", milli / 1000, milli % 1000)});
      }
      std::sort(q1.begin(), q1.end());
      CHECK(rows_in(run_query(dir, "q1", par), 3) == q1);

      // q2: bids on every 123rd auction.
      std::vector<std::vector<std::string>> q2;
      for (auto& b : bids)
        if (b.auction % 123 == 0)
          q2.push_back({std::to_string(b.auction), std::to_string(b.price)});
      std::sort(q2.begin(), q2.end());
      REQUIRE(!q2.empty());
      CHECK(rows_in(run_query(dir, "q2", par), 2) == q2);

      // q5: per HOP window (10 s every 2 s) the auctions with the most
      // bids.
      std::map<std::pair<int64_t, int64_t>, int64_t> counts; // (start, a)
      for (auto& b : bids) {
        auto last = b.date_time - (b.date_time % 2000 + 2000) % 2000;
        for (auto start = last; start > b.date_time - 10000; start -= 2000)
          ++counts[{start, b.auction}];
      }
      std::map<int64_t, int64_t> max_per_window;
      for (auto& [k, n] : counts)
        max_per_window[k.first] = std::max(max_per_window[k.first], n);
      std::vector<std::vector<std::string>> q5;
      for (auto& [k, n] : counts)
        if (n >= max_per_window[k.first])
          q5.push_back({std::to_string(k.second), std::to_string(n)});
      std::sort(q5.begin(), q5.end());
      CHECK(rows_in(run_query(dir, "q5", par), 2) == q5);

      // q7: per 10 s TUMBLE window, the bids with the highest price.
      std::map<int64_t, int64_t> max_price;
      for (auto& b : bids) {
        auto w = b.date_time / 10000;
        max_price[w] = std::max(max_price[w], b.price);
      }
      std::vector<std::vector<std::string>> q7;
      for (auto& b : bids) {
        auto w = b.date_time / 10000;
        if (b.price == max_price[w])
          q7.push_back({std::to_string(b.auction), std::to_string(b.price),
                        std::to_string(b.bidder), ts_text((w + 1) * 10000)});
      }
      std::sort(q7.begin(), q7.end());
      CHECK(rows_in(run_query(dir, "q7", par), 4) == q7);
    }
  }
}

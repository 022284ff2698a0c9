#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>

#include "connectors/nexmark.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

using nexmark::event_kind;

/// The splits a nexmark table can have: the generator partitions event
/// numbers by blocks, so any number works; this keeps plans sane.
constexpr uint32_t nexmark_max_splits = 256;

/// The `nexmark` table source: one table (person, auction or bid) of one
/// split, generated into columns by nexmark::source_cursor. When the
/// table's declared columns are not the generator's (a subset, another
/// order) the rows are generated into a batch of their own and the
/// declared columns copied by name.
class nexmark_table_source : public table_source {
 public:
  nexmark_table_source(nexmark::generator gen, event_kind table,
                       std::vector<size_t> mapping)
      : cursor_(std::move(gen), table), mapping_(std::move(mapping)),
        tmp_(nexmark::table_schema(table)) {}

  caf::error open() override { return {}; }

  caf::expected<poll_status> poll(columnar::row_batch& out,
                                  size_t max_rows) override {
    auto now = nexmark::source_cursor::clock::now();
    caf::expected<size_t> n{size_t{0}};
    if (mapping_.empty()) {
      n = cursor_.poll(out, max_rows, now);
    } else {
      tmp_.clear();
      n = cursor_.poll(tmp_, max_rows, now);
      if (n)
        for (size_t c = 0; c < mapping_.size(); ++c)
          out.col(c).append_range(tmp_.col(mapping_[c]), 0, *n);
    }
    if (!n)
      return std::move(n.error());
    if (*n > 0)
      return poll_status::more;
    return cursor_.done() ? poll_status::finished : poll_status::idle;
  }

  uint32_t max_splits() const override { return nexmark_max_splits; }

  std::string progress() const override { return cursor_.progress(); }

  int64_t source_watermark() const override { return cursor_.watermark(); }

 private:
  nexmark::source_cursor cursor_;
  std::vector<size_t> mapping_; ///< empty: the declared columns are the
                                ///< generator's
  columnar::row_batch tmp_;
};

caf::expected<event_kind> table_of(const std::string& name) {
  for (auto k : {event_kind::person, event_kind::auction, event_kind::bid})
    if (nexmark::to_string(k) == name)
      return k;
  return make_error(config_errc::invalid,
                    "option 'table': '" + name +
                        "' is not a nexmark table (person, auction, bid)");
}

/// Where each declared column comes from in the generator's columns;
/// empty when they are the generator's columns in order.
caf::expected<std::vector<size_t>> map_columns(const table_context& ctx,
                                               event_kind table) {
  auto gen = nexmark::table_schema(table);
  if (!ctx.schema)
    return std::vector<size_t>{};
  std::vector<size_t> mapping;
  bool identity = ctx.schema->size() == gen->size();
  for (size_t c = 0; c < ctx.schema->size(); ++c) {
    auto& f = ctx.schema->fields[c];
    auto i = gen->find(f.name);
    if (!i)
      return make_error(config_errc::invalid,
                        "table '" + ctx.name + "': the nexmark " +
                            std::string{nexmark::to_string(table)} +
                            " table has no column '" + f.name + "'");
    if (gen->fields[*i].type.id != f.type.id)
      return make_error(config_errc::invalid,
                        "table '" + ctx.name + "': column '" + f.name +
                            "' must be " +
                            columnar::to_string(gen->fields[*i].type.id) +
                            ", declared " + columnar::to_string(f.type));
    identity = identity && *i == c;
    mapping.push_back(*i);
  }
  if (identity)
    mapping.clear();
  return mapping;
}

caf::expected<nexmark::model_config> config_of(const table_context& ctx,
                                               const options& opts) {
  nexmark::model_config cfg;
  auto u32 = [&](const char* name) {
    return static_cast<uint32_t>(opts.get_int(name));
  };
  cfg.seed = static_cast<uint64_t>(opts.get_int("seed"));
  cfg.num_events = static_cast<uint64_t>(opts.get_int("events.num"));
  cfg.rate = static_cast<uint64_t>(opts.get_int("rate"));
  // Flink's nexmark names for the rate, used when 'rate' is not set.
  for (auto alias : {"first-event.rate", "next-event.rate"})
    if (cfg.rate == 0 && opts.contains(alias))
      cfg.rate = static_cast<uint64_t>(opts.get_int(alias));
  cfg.event_rate = static_cast<uint64_t>(opts.get_int("event-time.rate"));
  cfg.person_proportion = u32("person.proportion");
  cfg.auction_proportion = u32("auction.proportion");
  cfg.bid_proportion = u32("bid.proportion");
  cfg.hot_auction_ratio = u32("hot-auction.ratio");
  cfg.hot_seller_ratio = u32("hot-seller.ratio");
  cfg.hot_bidder_ratio = u32("hot-bidder.ratio");
  auto& fraction = opts.get_string("out-of-order.fraction");
  double f = -1;
  auto [p, ec] =
      std::from_chars(fraction.data(), fraction.data() + fraction.size(), f);
  if (ec != std::errc{} || p != fraction.data() + fraction.size() || f < 0 ||
      f > 1)
    return make_error(config_errc::invalid,
                      "option 'out-of-order.fraction': '" + fraction +
                          "' is not a number in [0, 1]");
  cfg.out_of_order_fraction = f;
  cfg.out_of_order_max_delay_ms = u32("out-of-order.max-delay");
  auto& first = opts.get_string("first-event.time");
  if (first == "now") {
    // Whole seconds, so that splits started together agree.
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    cfg.first_event_time = ms - ms % 1000;
  } else {
    auto t = columnar::parse_timestamp(first);
    if (!t)
      return make_error(config_errc::invalid,
                        "option 'first-event.time': '" + first +
                            "' is not a timestamp or 'now'");
    cfg.first_event_time = *t;
  }
  cfg.splits = std::max<uint32_t>(ctx.splits, 1);
  cfg.split = ctx.split;
  return cfg;
}

option_spec count_option(std::string name, std::string help, int64_t fallback,
                         int64_t min = 0) {
  return {std::move(name), option_type::integer,   std::move(help),
          false,           option_value{fallback}, min};
}

} // namespace

table_source_type nexmark_table_source_type() {
  table_source_type t;
  t.name = "nexmark";
  t.help = "generates the Nexmark person, auction or bid table";
  t.blocking = false;
  int64_t u32_max = std::numeric_limits<uint32_t>::max();
  t.options = {
      {"table",
       option_type::string,
       "person, auction or bid",
       true,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {"person", "auction", "bid"}},
      count_option("events.num", "events over all splits; 0 = unbounded", 0),
      count_option("rate", "events/s over all splits; 0 = as fast as possible",
                   0),
      {"first-event.rate", option_type::integer, "alias of 'rate'", false,
       std::nullopt, 0},
      {"next-event.rate", option_type::integer, "alias of 'rate'", false,
       std::nullopt, 0},
      count_option("event-time.rate",
                   "events per second of event time when 'rate' is 0", 10000,
                   1),
      count_option("seed", "the same seed gives the same rows", 0),
      count_option("person.proportion", "persons per block", 1, 1),
      count_option("auction.proportion", "auctions per block", 3, 1),
      count_option("bid.proportion", "bids per block", 46, 1),
      count_option("hot-auction.ratio",
                   "a bid is for the hot auction with probability 1 - 1/ratio",
                   2, 1),
      count_option("hot-seller.ratio",
                   "an auction is by the hot seller with probability "
                   "1 - 1/ratio",
                   4, 1),
      count_option("hot-bidder.ratio",
                   "a bid is by the hot bidder with probability 1 - 1/ratio", 4,
                   1),
      {"out-of-order.fraction", option_type::string,
       "share of events delayed in event time, in [0, 1]", false,
       option_value{std::string{"0.1"}}},
      {"out-of-order.max-delay", option_type::duration,
       "the largest delay of a delayed event", false,
       option_value{int64_t{3000}}, 0, u32_max},
      {"first-event.time", option_type::string,
       "event time of the first event ('yyyy-MM-dd HH:mm:ss' UTC, or 'now')",
       false, option_value{std::string{"1970-01-01 00:00:00"}}},
  };
  for (auto& spec : t.options)
    if (spec.type == option_type::integer && !spec.max)
      spec.max = spec.name == "events.num" || spec.name == "seed" ||
                         spec.name == "rate" ||
                         spec.name == "event-time.rate" ||
                         spec.name == "first-event.rate" ||
                         spec.name == "next-event.rate"
                     ? std::numeric_limits<int64_t>::max()
                     : u32_max;
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_source_ptr> {
    auto table = table_of(opts.get_string("table"));
    if (!table)
      return std::move(table.error());
    auto mapping = map_columns(ctx, *table);
    if (!mapping)
      return std::move(mapping.error());
    auto cfg = config_of(ctx, opts);
    if (!cfg)
      return std::move(cfg.error());
    auto gen = nexmark::generator::make(*cfg);
    if (!gen)
      return std::move(gen.error());
    return table_source_ptr{std::make_unique<nexmark_table_source>(
        std::move(*gen), *table, std::move(*mapping))};
  };
  return t;
}

} // namespace sluice

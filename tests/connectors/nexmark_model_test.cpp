#include "connectors/nexmark_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

using namespace sluice::nexmark;
using namespace std::chrono_literals;

namespace {

generator make_gen(const model_config& cfg) {
  auto g = generator::make(cfg);
  REQUIRE(g);
  return std::move(*g);
}

/// Observed count against a sum of Bernoulli trials: within 5 sigma (and at
/// least 5 events, for tiny expectations).
void check_share(const char* what, double observed, double expected,
                 double variance) {
  auto tolerance = std::max(5.0 * std::sqrt(variance), 5.0);
  INFO(what << ": observed " << observed << ", expected " << expected << " +- "
            << tolerance);
  CHECK(std::abs(observed - expected) <= tolerance);
}

} // namespace

SCENARIO("the same seed gives the same events, another seed others",
         "[nexmark]") {
  model_config cfg;
  cfg.seed = 42;
  auto a = make_gen(cfg);
  auto b = make_gen(cfg);
  cfg.seed = 43;
  auto c = make_gen(cfg);
  size_t differ = 0;
  for (uint64_t n = 0; n < 5000; ++n) {
    REQUIRE(a.kind(n) == b.kind(n));
    switch (a.kind(n)) {
    case event_kind::person: {
      auto x = a.make_person(n);
      auto y = b.make_person(n);
      REQUIRE(x.id == y.id);
      REQUIRE(x.name == y.name);
      REQUIRE(x.email_address == y.email_address);
      REQUIRE(x.credit_card() == y.credit_card());
      REQUIRE(x.city == y.city);
      REQUIRE(x.state == y.state);
      REQUIRE(x.date_time == y.date_time);
      REQUIRE(x.extra == y.extra);
      differ += x.email_address != c.make_person(n).email_address;
      break;
    }
    case event_kind::auction: {
      auto x = a.make_auction(n);
      auto y = b.make_auction(n);
      REQUIRE(x.id == y.id);
      REQUIRE(x.item_name == y.item_name);
      REQUIRE(x.description == y.description);
      REQUIRE(x.initial_bid == y.initial_bid);
      REQUIRE(x.reserve == y.reserve);
      REQUIRE(x.date_time == y.date_time);
      REQUIRE(x.expires == y.expires);
      REQUIRE(x.seller == y.seller);
      REQUIRE(x.category == y.category);
      REQUIRE(x.extra == y.extra);
      differ += x.initial_bid != c.make_auction(n).initial_bid;
      break;
    }
    case event_kind::bid: {
      auto x = a.make_bid(n);
      auto y = b.make_bid(n);
      REQUIRE(x.auction == y.auction);
      REQUIRE(x.bidder == y.bidder);
      REQUIRE(x.price == y.price);
      REQUIRE(x.channel == y.channel);
      REQUIRE(x.url == y.url);
      REQUIRE(x.date_time == y.date_time);
      REQUIRE(x.extra == y.extra);
      differ += x.price != c.make_bid(n).price;
      break;
    }
    }
  }
  // Prices, emails and initial bids repeat by chance only rarely.
  CHECK(differ > 4900);
}

SCENARIO("kinds follow the proportions exactly", "[nexmark]") {
  GIVEN("the standard proportions 1:3:46") {
    auto g = make_gen({});
    size_t counts[3] = {0, 0, 0};
    for (uint64_t n = 0; n < 50000; ++n)
      ++counts[static_cast<int>(g.kind(n))];
    CHECK(counts[0] == 1000);
    CHECK(counts[1] == 3000);
    CHECK(counts[2] == 46000);
  }
  GIVEN("proportions 2:5:13") {
    model_config cfg;
    cfg.person_proportion = 2;
    cfg.auction_proportion = 5;
    cfg.bid_proportion = 13;
    auto g = make_gen(cfg);
    size_t counts[3] = {0, 0, 0};
    for (uint64_t n = 0; n < 20000; ++n)
      ++counts[static_cast<int>(g.kind(n))];
    CHECK(counts[0] == 2000);
    CHECK(counts[1] == 5000);
    CHECK(counts[2] == 13000);
  }
}

SCENARIO("ids stay in the ranges the model defines", "[nexmark]") {
  model_config cfg;
  cfg.seed = 7;
  auto g = make_gen(cfg);
  int64_t persons = 0;
  int64_t auctions = 0;
  size_t hot_bidders = 0;
  size_t random_bidders = 0;
  for (uint64_t n = 0; n < 200000; ++n) {
    auto people = g.last_person(n) + 1;
    auto active = std::min<int64_t>(people, cfg.active_people);
    auto random_person_ok = [&](int64_t id) {
      return id >= first_person_id + people - active &&
             id < first_person_id + people + id_lead;
    };
    switch (g.kind(n)) {
    case event_kind::person: {
      auto p = g.make_person(n);
      REQUIRE(p.id == first_person_id + persons);
      ++persons;
      REQUIRE(p.credit_card().size() == 19);
      REQUIRE(p.name.find(' ') != std::string_view::npos);
      REQUIRE(p.email_address.ends_with(".com"));
      break;
    }
    case event_kind::auction: {
      auto a = g.make_auction(n);
      REQUIRE(a.id == first_auction_id + auctions);
      ++auctions;
      auto hot = first_person_id + g.last_person(n) / hot_group * hot_group;
      REQUIRE((a.seller == hot || random_person_ok(a.seller)));
      REQUIRE(a.category >= first_category_id);
      REQUIRE(a.category < first_category_id + num_categories);
      REQUIRE(a.initial_bid >= 100);
      REQUIRE(a.initial_bid <= 100'000'000);
      REQUIRE(a.reserve > a.initial_bid);
      REQUIRE(a.expires > a.date_time);
      break;
    }
    case event_kind::bid: {
      auto b = g.make_bid(n);
      auto last = g.last_auction(n);
      REQUIRE(last == auctions - 1); // the last auction made so far
      auto lo = std::max<int64_t>(last - cfg.in_flight_auctions, 0);
      REQUIRE(b.auction >= first_auction_id + lo);
      REQUIRE(b.auction <= first_auction_id + last + id_lead);
      auto hot = first_person_id + g.last_person(n) / hot_group * hot_group + 1;
      if (b.bidder == hot)
        ++hot_bidders;
      else if (random_person_ok(b.bidder))
        ++random_bidders;
      else
        FAIL("bidder " << b.bidder << " out of range at event " << n);
      REQUIRE(b.price >= 100);
      REQUIRE(b.price <= 100'000'000);
      REQUIRE(!b.channel.empty());
      REQUIRE(b.url.starts_with("https://www.nexmark.com/"));
      break;
    }
    }
  }
  CHECK(persons == 4000);
  CHECK(auctions == 12000);
  CHECK(hot_bidders > 0);
  CHECK(random_bidders > 0);
}

SCENARIO("hot auctions, bidders and sellers take the share the ratios give",
         "[nexmark]") {
  // P(hot) = (1 - 1/ratio) + 1/ratio * P(the random pick lands on it), the
  // random pick being uniform over the window random_auction/person uses.
  auto run = [](uint32_t auction_ratio, uint32_t bidder_ratio,
                uint32_t seller_ratio) {
    model_config cfg;
    cfg.seed = 11;
    cfg.hot_auction_ratio = auction_ratio;
    cfg.hot_bidder_ratio = bidder_ratio;
    cfg.hot_seller_ratio = seller_ratio;
    auto g = make_gen(cfg);
    double obs[3] = {0, 0, 0};
    double mean[3] = {0, 0, 0};
    double var[3] = {0, 0, 0};
    auto add = [&](int i, bool hit, double ratio, int64_t hot, int64_t lo,
                   int64_t size) {
      auto in_window = hot >= lo && hot < lo + size ? 1.0 : 0.0;
      auto p = (1 - 1 / ratio) + in_window / ratio / static_cast<double>(size);
      obs[i] += hit;
      mean[i] += p;
      var[i] += p * (1 - p);
    };
    for (uint64_t n = 0; n < 50000; ++n) {
      auto people = g.last_person(n) + 1;
      auto active = std::min<int64_t>(people, cfg.active_people);
      auto person_lo = first_person_id + people - active;
      auto hot_person =
          first_person_id + g.last_person(n) / hot_group * hot_group;
      if (g.kind(n) == event_kind::bid) {
        auto b = g.make_bid(n);
        auto last = g.last_auction(n);
        auto lo = std::max<int64_t>(last - cfg.in_flight_auctions, 0);
        auto hot = first_auction_id + last / hot_group * hot_group;
        add(0, b.auction == hot, auction_ratio, hot, first_auction_id + lo,
            last - lo + 1 + id_lead);
        add(1, b.bidder == hot_person + 1, bidder_ratio, hot_person + 1,
            person_lo, active + id_lead);
      } else if (g.kind(n) == event_kind::auction) {
        auto a = g.make_auction(n);
        add(2, a.seller == hot_person, seller_ratio, hot_person, person_lo,
            active + id_lead);
      }
    }
    check_share("hot auction", obs[0], mean[0], var[0]);
    check_share("hot bidder", obs[1], mean[1], var[1]);
    check_share("hot seller", obs[2], mean[2], var[2]);
    return std::vector<double>{obs[0], obs[1], obs[2]};
  };
  GIVEN("the standard ratios 2, 4, 4") {
    auto obs = run(2, 4, 4);
    // About half the bids are for the hot auction, three quarters by the
    // hot bidder.
    CHECK(obs[0] / 46000 > 0.45);
    CHECK(obs[0] / 46000 < 0.56);
    CHECK(obs[1] / 46000 > 0.7);
  }
  GIVEN("ratios 10, 1, 100") {
    auto obs = run(10, 1, 100);
    CHECK(obs[0] / 46000 > 0.85);
  }
}

SCENARIO("event times follow the rate except the delayed events", "[nexmark]") {
  GIVEN("10% delayed by at most 3 s at 10000 events/s") {
    model_config cfg;
    cfg.seed = 3;
    cfg.first_event_time = 1'700'000'000'000;
    auto g = make_gen(cfg);
    int64_t last_nominal = cfg.first_event_time;
    int64_t last_on_time = cfg.first_event_time;
    size_t delayed = 0;
    const uint64_t events = 50000;
    for (uint64_t n = 0; n < events; ++n) {
      auto nominal = g.nominal_time(n);
      REQUIRE(nominal == cfg.first_event_time +
                             static_cast<int64_t>(n / 10)); // 0.1 ms apart
      REQUIRE(nominal >= last_nominal);
      last_nominal = nominal;
      int64_t t = 0;
      switch (g.kind(n)) {
      case event_kind::person:
        t = g.make_person(n).date_time;
        break;
      case event_kind::auction:
        t = g.make_auction(n).date_time;
        break;
      case event_kind::bid:
        t = g.make_bid(n).date_time;
        break;
      }
      REQUIRE(t == g.event_time(n));
      if (t == nominal) {
        REQUIRE(t >= last_on_time);
        last_on_time = t;
      } else {
        ++delayed;
        REQUIRE(t < nominal);
        REQUIRE(nominal - t <= cfg.out_of_order_max_delay_ms);
        REQUIRE(g.delay_ms(n) == nominal - t);
      }
    }
    check_share("delayed", delayed, 0.1 * events, 0.1 * 0.9 * events);
  }
  GIVEN("no delayed events") {
    model_config cfg;
    cfg.out_of_order_fraction = 0;
    auto g = make_gen(cfg);
    int64_t last = 0;
    for (uint64_t n = 0; n < 50000; ++n) {
      REQUIRE(g.event_time(n) >= last);
      last = g.event_time(n);
    }
    CHECK(last == 4999);
  }
}

SCENARIO("a bounded generator ends after events.num events", "[nexmark]") {
  model_config cfg;
  cfg.num_events = 1234;
  auto g = make_gen(cfg);
  CHECK(g.end() == 1234);
  uint64_t count = 0;
  uint64_t last = 0;
  for (auto n = g.next_owned(0); n != no_event; n = g.next_owned(n + 1)) {
    ++count;
    last = n;
  }
  CHECK(count == 1234);
  CHECK(last == 1233);
  CHECK(g.next_owned(1234) == no_event);
  CHECK(g.next_owned(1200, event_kind::person) == 1200);
  CHECK(g.next_owned(1201, event_kind::person) == no_event);
  CHECK(g.next_owned(1200, event_kind::auction) == 1201);
  CHECK(g.next_owned(1233, event_kind::bid) == 1233);
  GIVEN("unbounded") {
    auto u = make_gen({});
    CHECK(u.end() == no_event);
    CHECK(u.next_owned(1'000'000'000'000) == 1'000'000'000'000);
  }
}

SCENARIO("splits partition the event numbers exactly", "[nexmark]") {
  for (uint32_t splits : {1u, 2u, 3u, 7u}) {
    model_config cfg;
    cfg.num_events = 10007;
    cfg.splits = splits;
    std::vector<int> seen(cfg.num_events, 0);
    std::vector<int> seen_by_kind(cfg.num_events, 0);
    auto whole = make_gen({.num_events = cfg.num_events});
    for (uint32_t s = 0; s < splits; ++s) {
      cfg.split = s;
      auto g = make_gen(cfg);
      uint64_t owned = 0;
      for (auto n = g.next_owned(0); n != no_event; n = g.next_owned(n + 1)) {
        REQUIRE(n < cfg.num_events);
        REQUIRE(g.owns(n));
        ++seen[n];
        ++owned;
      }
      for (auto k : {event_kind::person, event_kind::auction, event_kind::bid})
        for (auto n = g.next_owned(0, k); n != no_event;
             n = g.next_owned(n + 1, k)) {
          REQUIRE(g.kind(n) == k);
          ++seen_by_kind[n];
        }
      // A split makes the same event n as the whole generator.
      auto n = g.next_owned(0, event_kind::bid);
      REQUIRE(g.make_bid(n).price == whole.make_bid(n).price);
      REQUIRE(g.make_bid(n).date_time == whole.make_bid(n).date_time);
      // Blocks of 50 go round robin, so the shares differ by one block.
      CHECK(owned + 50 >= cfg.num_events / splits);
      CHECK(owned <= cfg.num_events / splits + 50);
    }
    INFO("splits " << splits);
    CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
    CHECK(std::all_of(seen_by_kind.begin(), seen_by_kind.end(),
                      [](int c) { return c == 1; }));
  }
}

SCENARIO("a rate-limited run is paced by the event times", "[nexmark]") {
  GIVEN("1000 events/s") {
    model_config cfg;
    cfg.rate = 1000;
    cfg.first_event_time = 5000;
    auto g = make_gen(cfg);
    THEN("event n is due n ms after the start and happens n ms after the "
         "first") {
      for (uint64_t n = 0; n < 5000; ++n) {
        REQUIRE(g.due_at(n) == std::chrono::milliseconds(n));
        REQUIRE(g.nominal_time(n) == 5000 + static_cast<int64_t>(n));
      }
      CHECK(g.due_count(0ns) == 1);
      CHECK(g.due_count(999'999ns) == 1);
      CHECK(g.due_count(1ms) == 2);
      CHECK(g.due_count(1s) == 1001);
      CHECK(g.due_count(-1ns) == 0);
    }
  }
  GIVEN("3 events/s, bounded to 10 events") {
    model_config cfg;
    cfg.rate = 3;
    cfg.event_rate = 1'000'000; // ignored: the pacing rate wins
    cfg.num_events = 10;
    auto g = make_gen(cfg);
    THEN("due_at and due_count agree and the count stops at the end") {
      CHECK(g.nominal_time(1) == 333);
      CHECK(g.nominal_time(3) == 1000);
      CHECK(g.due_at(1) == 333'333'334ns);
      for (uint64_t n = 0; n < 10; ++n) {
        auto t = g.due_at(n);
        REQUIRE(g.due_count(t) == n + 1);
        REQUIRE(g.due_count(t - 1ns) == n);
      }
      CHECK(g.due_count(1h) == 10);
    }
  }
  GIVEN("no rate") {
    auto g = make_gen({.num_events = 77});
    CHECK(g.due_count(0ns) == 77);
    CHECK(g.due_at(50) == 0ns);
  }
}

SCENARIO("a bad configuration is refused", "[nexmark]") {
  CHECK(!generator::make({.splits = 2, .split = 2}));
  CHECK(!generator::make({.person_proportion = 0}));
  CHECK(!generator::make({.hot_bidder_ratio = 0}));
  CHECK(!generator::make({.out_of_order_fraction = 1.5}));
  CHECK(!generator::make({.rate = 0, .event_rate = 0}));
  CHECK(generator::make({.rate = 5, .event_rate = 0}));
}

namespace {

/// The event numbers of kind k this generator owns, from `from` on, at most
/// `count` of them.
std::vector<uint64_t> owned_of(const generator& g, event_kind k, uint64_t from,
                               size_t count) {
  std::vector<uint64_t> out;
  for (auto n = g.next_owned(from, k); n != no_event && out.size() < count;
       n = g.next_owned(n + 1, k))
    out.push_back(n);
  return out;
}

} // namespace

SCENARIO("fill writes one table's events into columns", "[nexmark]") {
  using sluice::columnar::row_batch;
  model_config cfg;
  cfg.seed = 5;
  cfg.splits = 2;
  cfg.split = 1;
  auto g = make_gen(cfg);
  GIVEN("a bid batch") {
    row_batch batch{table_schema(event_kind::bid)};
    REQUIRE(batch.row_schema()->fields[0].name == "auction");
    REQUIRE(batch.row_schema()->fields[5].name == "dateTime");
    REQUIRE(batch.row_schema()->rowtime == 5);
    auto ns = owned_of(g, event_kind::bid, 0, 1000);
    auto res = g.fill(batch, event_kind::bid, 0, 1000);
    REQUIRE(res);
    THEN("its rows are the split's first 1000 bids, in order") {
      REQUIRE(res->rows == 1000);
      REQUIRE(batch.num_rows() == 1000);
      REQUIRE(batch.well_formed());
      CHECK(res->next == ns.back() + 1);
      for (size_t i = 0; i < ns.size(); ++i) {
        auto b = g.make_bid(ns[i]);
        REQUIRE(batch.col(0).value<int64_t>(i) == b.auction);
        REQUIRE(batch.col(1).value<int64_t>(i) == b.bidder);
        REQUIRE(batch.col(2).value<int64_t>(i) == b.price);
        REQUIRE(batch.col(3).str(i) == b.channel);
        REQUIRE(batch.col(4).str(i) == b.url);
        REQUIRE(batch.col(5).value<int64_t>(i) == b.date_time);
        REQUIRE(batch.col(6).str(i) == b.extra);
      }
    }
    AND_WHEN("it is filled again, from where the last fill stopped") {
      auto more = g.fill(batch, event_kind::bid, res->next, 1000);
      REQUIRE(more);
      THEN("the rows are appended and equal one fill of 2000") {
        row_batch once{table_schema(event_kind::bid)};
        auto all = g.fill(once, event_kind::bid, 0, 2000);
        REQUIRE(all);
        CHECK(all->next == more->next);
        CHECK(batch.num_rows() == 2000);
        CHECK(sluice::columnar::equal_rows(batch, once));
      }
    }
  }
  GIVEN("a person batch and an auction batch") {
    row_batch persons{table_schema(event_kind::person)};
    row_batch auctions{table_schema(event_kind::auction)};
    auto pn = owned_of(g, event_kind::person, 0, 300);
    auto an = owned_of(g, event_kind::auction, 0, 300);
    REQUIRE(g.fill(persons, event_kind::person, 0, 300));
    REQUIRE(g.fill(auctions, event_kind::auction, 0, 300));
    REQUIRE(persons.num_rows() == 300);
    REQUIRE(auctions.num_rows() == 300);
    REQUIRE(persons.well_formed());
    REQUIRE(auctions.well_formed());
    for (size_t i = 0; i < 300; ++i) {
      auto p = g.make_person(pn[i]);
      REQUIRE(persons.col(0).value<int64_t>(i) == p.id);
      REQUIRE(persons.col(1).str(i) == p.name);
      REQUIRE(persons.col(2).str(i) == p.email_address);
      REQUIRE(persons.col(3).str(i) == p.credit_card());
      REQUIRE(persons.col(4).str(i) == p.city);
      REQUIRE(persons.col(5).str(i) == p.state);
      REQUIRE(persons.col(6).value<int64_t>(i) == p.date_time);
      REQUIRE(persons.col(7).str(i) == p.extra);
      auto a = g.make_auction(an[i]);
      REQUIRE(auctions.col(0).value<int64_t>(i) == a.id);
      REQUIRE(auctions.col(1).str(i) == a.item_name);
      REQUIRE(auctions.col(2).str(i) == a.description);
      REQUIRE(auctions.col(3).value<int64_t>(i) == a.initial_bid);
      REQUIRE(auctions.col(4).value<int64_t>(i) == a.reserve);
      REQUIRE(auctions.col(5).value<int64_t>(i) == a.date_time);
      REQUIRE(auctions.col(6).value<int64_t>(i) == a.expires);
      REQUIRE(auctions.col(7).value<int64_t>(i) == a.seller);
      REQUIRE(auctions.col(8).value<int64_t>(i) == a.category);
      REQUIRE(auctions.col(9).str(i) == a.extra);
    }
  }
  GIVEN("a batch of another table's columns") {
    row_batch persons{table_schema(event_kind::person)};
    THEN("fill refuses it") {
      CHECK(!g.fill(persons, event_kind::bid, 0, 10));
      CHECK(persons.num_rows() == 0);
    }
  }
}

SCENARIO("fill stops at the pacing bound and at the end", "[nexmark]") {
  using sluice::columnar::row_batch;
  GIVEN("a bounded run in three splits") {
    for (auto table :
         {event_kind::person, event_kind::auction, event_kind::bid}) {
      model_config cfg;
      cfg.num_events = 10007;
      cfg.splits = 3;
      size_t rows = 0;
      uint64_t covered = 0;
      for (uint32_t s = 0; s < 3; ++s) {
        cfg.split = s;
        auto g = make_gen(cfg);
        row_batch batch{table_schema(table)};
        uint64_t from = 0;
        size_t fills = 0;
        while (from != no_event) {
          batch.clear();
          auto res = g.fill(batch, table, from, 100);
          REQUIRE(res);
          REQUIRE(batch.num_rows() == res->rows);
          rows += res->rows;
          from = res->next;
          REQUIRE(++fills < 10000);
        }
        covered += g.owned_before(cfg.num_events);
      }
      auto whole = make_gen({.num_events = cfg.num_events});
      size_t expected = 0;
      for (uint64_t n = 0; n < cfg.num_events; ++n)
        expected += whole.kind(n) == table;
      INFO(to_string(table));
      CHECK(rows == expected);
      CHECK(covered == cfg.num_events);
    }
  }
  GIVEN("a pacing bound") {
    auto g = make_gen({});
    row_batch batch{table_schema(event_kind::bid)};
    auto res = g.fill(batch, event_kind::bid, 0, 4096, 120);
    REQUIRE(res);
    THEN("only bids numbered below it are written") {
      // Blocks 0 and 1 hold 92 bids below 100; 100..119 hold 16 more.
      CHECK(res->rows == 92 + 16);
      CHECK(res->next == 120);
      CHECK(batch.col(5).value<int64_t>(res->rows - 1) <= g.nominal_time(119));
    }
  }
}

SCENARIO("prices are log-uniform between 1 and 10^6 dollars", "[nexmark]") {
  auto g = make_gen({.seed = 9});
  const double bids = 46000;
  double below[3] = {0, 0, 0}; // below 10^1.5, 10^3, 10^4.5 dollars
  for (uint64_t n = 0; n < 50000; ++n) {
    if (g.kind(n) != event_kind::bid)
      continue;
    auto cents = static_cast<double>(g.make_bid(n).price);
    for (int q = 0; q < 3; ++q)
      below[q] += cents < 100.0 * std::pow(10.0, 1.5 * (q + 1));
  }
  for (int q = 0; q < 3; ++q) {
    double p = 0.25 * (q + 1);
    check_share("price quartile", below[q], p * bids, p * (1 - p) * bids);
  }
}

#include "connectors/nexmark_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/errors.hpp"

namespace sluice::nexmark {

namespace {

// -- random numbers -----------------------------------------------------------

uint64_t mix64(uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A splitmix64 stream; one per event, seeded from the seed and the event
/// number, so that every event is a pure function of both.
struct draws {
  uint64_t state;

  uint64_t next() noexcept {
    state += 0x9E3779B97F4A7C15ull;
    return mix64(state);
  }
};

/// Uniform in [0, n) from 32 random bits (multiply-shift; the bias is below
/// n / 2^32, far under what any test of the model can see).
uint64_t below32(uint32_t r, uint64_t n) noexcept {
  return (static_cast<uint64_t>(r) * n) >> 32;
}

/// Uniform in [0, n) from 64 random bits.
uint64_t below64(uint64_t r, uint64_t n) noexcept {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(r) * n) >> 64);
}

uint32_t lo32(uint64_t r) noexcept {
  return static_cast<uint32_t>(r);
}

uint32_t hi32(uint64_t r) noexcept {
  return static_cast<uint32_t>(r >> 32);
}

/// 10^(6 x) for x in [0, 1) by three tables of 128 (7 bits of x each) and a
/// first-order term for the rest (relative error below 1e-10): about 3 ns
/// per price, where std::exp takes 15.
struct pow10_tables {
  double a[128], b[128], c[128];
  static constexpr double ln10_times_6 = 13.815510557964274; // 6 * ln(10)

  pow10_tables() {
    for (int i = 0; i < 128; ++i) {
      a[i] = std::exp(ln10_times_6 * i / 128.0);
      b[i] = std::exp(ln10_times_6 * i / (128.0 * 128.0));
      c[i] = std::exp(ln10_times_6 * i / (128.0 * 128.0 * 128.0));
    }
  }

  /// 10^(6 * r / 2^64), r being 64 random bits.
  double operator()(uint64_t r) const noexcept {
    auto rest = static_cast<double>(r & ((uint64_t{1} << 43) - 1)) * 0x1.0p-64;
    return a[r >> 57] * b[(r >> 50) & 127] * c[(r >> 43) & 127] *
           (1.0 + ln10_times_6 * rest);
  }
};

// -- string pools -------------------------------------------------------------

constexpr size_t extra_pool_bytes = 1 << 16;
constexpr uint32_t email_pool = 1 << 14;
constexpr uint32_t item_pool = 1 << 14;
constexpr uint32_t description_pool = 1 << 12;

constexpr std::string_view first_names[] = {"Peter", "Paul",   "Luke",  "John",
                                            "Saul",  "Vicky",  "Kate",  "Julie",
                                            "Sarah", "Deiter", "Walter"};
constexpr std::string_view last_names[] = {"Shultz", "Abrams",  "Spencer",
                                           "White",  "Bartels", "Walton",
                                           "Smith",  "Jones",   "Noris"};
constexpr std::string_view cities[] = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::string_view states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::string_view hot_channels[] = {"Google", "Facebook", "Baidu",
                                             "Apple"};

/// Every string an event may carry, built once per process from a fixed seed
/// (the Flink generator builds its channel and extra pools the same way).
struct pools {
  std::string extra;              ///< lowercase letters; extras are slices
  std::vector<std::string> owned; ///< backs the views below; never grows
  std::vector<std::string_view> names, emails, items, descriptions;
  /// A channel and its url, side by side: a bid reads both.
  struct channel_url {
    std::string_view channel, url;
  };
  std::vector<channel_url> channels; ///< the 4 hot ones first, then 10000
  pow10_tables pow10_6x;

  /// Prices are log-uniform over [1, 10^6] dollars, in cents.
  int64_t price(uint64_t r) const noexcept {
    return static_cast<int64_t>(pow10_6x(r) * 100.0 + 0.5);
  }

  pools() {
    draws rng{0x6E65786D61726Bull}; // fixed: the pools never depend on a seed
    auto below = [&](uint64_t n) {
      return below64(rng.next(), n);
    };
    // A string of 3 .. max_len-1 letters, about one in 13 being `special`,
    // trimmed of blanks at both ends.
    auto text = [&](size_t max_len, char special) {
      auto len = 3 + below(max_len - 3);
      std::string s;
      s.reserve(len);
      for (size_t i = 0; i < len; ++i)
        s += below(13) == 0 ? special : static_cast<char>('a' + below(26));
      auto b = s.find_first_not_of(' ');
      if (b == std::string::npos)
        return std::string{};
      return s.substr(b, s.find_last_not_of(' ') - b + 1);
    };
    auto url = [&] {
      return "https://www.nexmark.com/" + text(5, '_') + '/' + text(5, '_') +
             '/' + text(5, '_') + "/item.htm?query=1";
    };
    extra.resize(extra_pool_bytes);
    for (auto& c : extra)
      c = static_cast<char>('a' + below(26));
    size_t total = std::size(first_names) * std::size(last_names) + email_pool +
                   item_pool + description_pool +
                   2 * (std::size(hot_channels) + num_channels);
    owned.reserve(total);
    auto keep = [&](std::string s) -> std::string_view {
      return owned.emplace_back(std::move(s));
    };
    for (auto f : first_names)
      for (auto l : last_names)
        names.push_back(keep(std::string{f} + ' ' + std::string{l}));
    for (uint32_t i = 0; i < email_pool; ++i)
      emails.push_back(keep(text(7, ' ') + '@' + text(5, ' ') + ".com"));
    for (uint32_t i = 0; i < item_pool; ++i)
      items.push_back(keep(text(20, ' ')));
    for (uint32_t i = 0; i < description_pool; ++i)
      descriptions.push_back(keep(text(100, ' ')));
    for (auto c : hot_channels) {
      channels.push_back({c, keep(url())});
    }
    for (uint32_t i = 0; i < num_channels; ++i) {
      auto name = keep("channel-" + std::to_string(i));
      auto u = url();
      // Nine in ten carry a channel id: the bit-reversed channel number.
      if (below(10) > 0) {
        uint32_t rev = 0;
        for (int b = 0; b < 32; ++b)
          rev |= ((i >> b) & 1u) << (31 - b);
        auto id = std::abs(static_cast<int64_t>(static_cast<int32_t>(rev)));
        u += "&channel_id=" + std::to_string(id);
      }
      channels.push_back({name, keep(std::move(u))});
    }
  }

  /// A slice of `extra` such that current + its length is avg on average
  /// (uniform within +-20% of the missing bytes); empty when current > avg.
  std::string_view extra_for(uint64_t r, size_t current,
                             size_t avg) const noexcept {
    if (current > avg)
      return {};
    auto want = avg - current;
    auto delta = (want * 2 + 5) / 10; // round(want * 0.2), halves up
    auto len = want - delta + (delta == 0 ? 0 : below32(lo32(r), 2 * delta));
    auto off = below32(hi32(r), extra.size() - len);
    return {extra.data() + off, len};
  }
};

const pools& the_pools() {
  static const pools instance;
  return instance;
}

} // namespace

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
  case event_kind::person:
    return "person";
  case event_kind::auction:
    return "auction";
  case event_kind::bid:
    return "bid";
  }
  return "?";
}

// -- generator ----------------------------------------------------------------

caf::expected<generator> generator::make(const model_config& cfg) {
  auto invalid = [](const char* what) {
    return make_error(config_errc::invalid, std::string{"nexmark: "} + what);
  };
  if (cfg.person_proportion == 0 || cfg.auction_proportion == 0 ||
      cfg.bid_proportion == 0)
    return invalid("every proportion must be at least 1");
  if (uint64_t{cfg.person_proportion} + cfg.auction_proportion +
          cfg.bid_proportion >
      1'000'000)
    return invalid("the proportions add up to more than 1000000");
  if (cfg.hot_auction_ratio == 0 || cfg.hot_seller_ratio == 0 ||
      cfg.hot_bidder_ratio == 0)
    return invalid("a hot ratio must be at least 1");
  if (cfg.splits == 0 || cfg.split >= cfg.splits)
    return invalid("the split index must be below the number of splits");
  if (cfg.rate == 0 && cfg.event_rate == 0)
    return invalid("the event rate must be at least 1 event/s");
  if (!(cfg.out_of_order_fraction >= 0.0 && cfg.out_of_order_fraction <= 1.0))
    return invalid("the out-of-order fraction must lie in [0, 1]");
  if (cfg.out_of_order_fraction > 0.0 && cfg.out_of_order_max_delay_ms == 0)
    return invalid("delayed events need a max delay of at least 1 ms");
  the_pools(); // build them now rather than inside the first poll
  return generator{cfg};
}

generator::generator(const model_config& cfg)
    : cfg_(cfg), total_(uint64_t{cfg.person_proportion} +
                        cfg.auction_proportion + cfg.bid_proportion),
      end_(cfg.num_events == 0 ? no_event : cfg.num_events),
      ts_rate_(cfg.rate != 0 ? cfg.rate : cfg.event_rate),
      seed_(mix64(cfg.seed ^ 0x5EED5EED5EED5EEDull)),
      delay_threshold_(
          static_cast<uint64_t>(std::ldexp(cfg.out_of_order_fraction, 32))) {}

event_kind generator::kind(uint64_t n) const noexcept {
  auto off = n % total_;
  if (off < cfg_.person_proportion)
    return event_kind::person;
  if (off < cfg_.person_proportion + cfg_.auction_proportion)
    return event_kind::auction;
  return event_kind::bid;
}

uint64_t generator::next_owned(uint64_t n, event_kind k) const noexcept {
  uint64_t lo = 0;
  uint64_t hi = cfg_.person_proportion;
  if (k == event_kind::auction) {
    lo = hi;
    hi += cfg_.auction_proportion;
  } else if (k == event_kind::bid) {
    lo = uint64_t{cfg_.person_proportion} + cfg_.auction_proportion;
    hi = total_;
  }
  if (n >= end_)
    return no_event;
  auto block = n / total_;
  auto off = n % total_;
  if (off >= hi) {
    ++block;
    off = lo;
  } else if (off < lo) {
    off = lo;
  }
  auto rem = block % cfg_.splits;
  if (rem != cfg_.split) {
    block += (cfg_.split + cfg_.splits - rem) % cfg_.splits;
    off = lo;
  }
  auto m = block * total_ + off;
  return m < end_ ? m : no_event;
}

uint64_t generator::next_owned(uint64_t n) const noexcept {
  if (n >= end_)
    return no_event;
  auto block = n / total_;
  auto rem = block % cfg_.splits;
  if (rem == cfg_.split)
    return n;
  block += (cfg_.split + cfg_.splits - rem) % cfg_.splits;
  auto m = block * total_;
  return m < end_ ? m : no_event;
}

int64_t generator::nominal_time(uint64_t n) const noexcept {
  auto ms = static_cast<unsigned __int128>(n) * 1000 / ts_rate_;
  return cfg_.first_event_time + static_cast<int64_t>(ms);
}

int64_t generator::delay_ms(uint64_t n) const noexcept {
  draws rng{seed_ ^ mix64(n)};
  auto r = rng.next();
  if (lo32(r) >= delay_threshold_)
    return 0;
  return 1 +
         static_cast<int64_t>(below32(hi32(r), cfg_.out_of_order_max_delay_ms));
}

int64_t generator::last_person(uint64_t n) const noexcept {
  auto block = static_cast<int64_t>(n / total_);
  auto off = static_cast<int64_t>(n % total_);
  int64_t p = cfg_.person_proportion;
  return block * p + std::min(off, p - 1);
}

int64_t generator::last_auction(uint64_t n) const noexcept {
  auto block = static_cast<int64_t>(n / total_);
  auto off = static_cast<int64_t>(n % total_);
  int64_t p = cfg_.person_proportion;
  int64_t a = cfg_.auction_proportion;
  if (off < p) // a person: the last auction is in the block before
    return (block - 1) * a + a - 1;
  return block * a + std::min(off - p, a - 1);
}

generator::id_context generator::ids_at(uint64_t n) const noexcept {
  id_context c;
  auto last_p = last_person(n);
  auto last_a = std::max<int64_t>(last_auction(n), 0);
  c.hot_seller = last_p / hot_group * hot_group;
  // The hot bidder is the second of its group, so that it is not also the
  // hot seller.
  c.hot_bidder = c.hot_seller + 1;
  c.hot_auction = last_a / hot_group * hot_group;
  // Random people: among the active ones plus a few not created yet (as if
  // the person and the auction or bid naming them came out of order).
  auto people = last_p + 1;
  auto active = std::min<int64_t>(people, cfg_.active_people);
  c.person_lo = people - active;
  c.person_range = static_cast<uint64_t>(active + id_lead);
  // Random auctions: among those likely still open plus a few to come.
  c.auction_lo = std::max<int64_t>(last_a - cfg_.in_flight_auctions, 0);
  c.auction_range = static_cast<uint64_t>(last_a - c.auction_lo + 1 + id_lead);
  return c;
}

person generator::make_person(uint64_t n) const noexcept {
  const auto& pl = the_pools();
  draws rng{seed_ ^ mix64(n)};
  person p;
  p.date_time = nominal_time(n);
  if (auto r = rng.next(); lo32(r) < delay_threshold_)
    p.date_time -= 1 + below32(hi32(r), cfg_.out_of_order_max_delay_ms);
  p.id = last_person(n) + first_person_id;
  auto r = rng.next();
  p.name = pl.names[below32(lo32(r), pl.names.size())];
  p.city = cities[below32(hi32(r), std::size(cities))];
  r = rng.next();
  p.state = states[below32(lo32(r), std::size(states))];
  p.email_address = pl.emails[below32(hi32(r), pl.emails.size())];
  r = rng.next();
  for (int g = 0; g < 4; ++g) {
    auto v = ((r >> (16 * g)) & 0xFFFF) * 10000 >> 16; // 0000 .. 9999
    auto* out = p.credit_card_digits.data() + 5 * g;
    out[0] = static_cast<char>('0' + v / 1000);
    out[1] = static_cast<char>('0' + v / 100 % 10);
    out[2] = static_cast<char>('0' + v / 10 % 10);
    out[3] = static_cast<char>('0' + v % 10);
    if (g < 3)
      out[4] = ' ';
  }
  auto size = 8 + p.name.size() + p.email_address.size() +
              p.credit_card_digits.size() + p.city.size() + p.state.size();
  p.extra = pl.extra_for(rng.next(), size, cfg_.avg_person_bytes);
  return p;
}

auction generator::make_auction(uint64_t n) const noexcept {
  const auto& pl = the_pools();
  draws rng{seed_ ^ mix64(n)};
  auction a;
  a.date_time = nominal_time(n);
  if (auto r = rng.next(); lo32(r) < delay_threshold_)
    a.date_time -= 1 + below32(hi32(r), cfg_.out_of_order_max_delay_ms);
  a.id = last_auction(n) + first_auction_id;
  auto ids = ids_at(n);
  auto r = rng.next();
  a.seller = first_person_id +
             (below32(lo32(r), cfg_.hot_seller_ratio) > 0
                  ? ids.hot_seller
                  : ids.person_lo + static_cast<int64_t>(
                                        below32(hi32(r), ids.person_range)));
  r = rng.next();
  a.category = first_category_id +
               static_cast<int64_t>(below32(lo32(r), num_categories));
  a.item_name = pl.items[below32(hi32(r), pl.items.size())];
  a.initial_bid = pl.price(rng.next());
  a.reserve = a.initial_bid + pl.price(rng.next());
  // Open for a time whose mean is how long the next in-flight-auctions
  // auctions take to appear.
  auto ahead =
      uint64_t{cfg_.in_flight_auctions} * total_ / cfg_.auction_proportion;
  auto horizon = nominal_time(n + ahead) - a.date_time;
  a.expires = a.date_time + 1 +
              static_cast<int64_t>(below64(
                  rng.next(),
                  static_cast<uint64_t>(std::max<int64_t>(2 * horizon, 1))));
  r = rng.next();
  a.description = pl.descriptions[below32(lo32(r), pl.descriptions.size())];
  auto size = 8 + a.item_name.size() + a.description.size() + 40;
  a.extra = pl.extra_for(rng.next(), size, cfg_.avg_auction_bytes);
  return a;
}

bid generator::make_bid(uint64_t n) const noexcept {
  return make_bid(n, ids_at(n));
}

bid generator::make_bid(uint64_t n, const id_context& ids) const noexcept {
  const auto& pl = the_pools();
  draws rng{seed_ ^ mix64(n)};
  bid b;
  b.date_time = nominal_time(n);
  if (auto r = rng.next(); lo32(r) < delay_threshold_)
    b.date_time -= 1 + below32(hi32(r), cfg_.out_of_order_max_delay_ms);
  // The choices below are coin flips the branch predictor cannot learn:
  // compute both sides and select.
  auto r = rng.next();
  auto random_auction =
      ids.auction_lo +
      static_cast<int64_t>(below32(hi32(r), ids.auction_range));
  b.auction = first_auction_id + (below32(lo32(r), cfg_.hot_auction_ratio) > 0
                                      ? ids.hot_auction
                                      : random_auction);
  r = rng.next();
  auto random_bidder =
      ids.person_lo + static_cast<int64_t>(below32(hi32(r), ids.person_range));
  // (The Flink generator adds first_person_id twice to the bidder, so its
  // bidders miss the persons by 1000; we add it once.)
  b.bidder = first_person_id + (below32(lo32(r), cfg_.hot_bidder_ratio) > 0
                                    ? ids.hot_bidder
                                    : random_bidder);
  b.price = pl.price(rng.next());
  r = rng.next();
  // Half the bids come through one of the four hot channels.
  auto hot = static_cast<size_t>((r >> 1) & 3);
  auto other = std::size(hot_channels) + below32(hi32(r), num_channels);
  const auto& ch = pl.channels[(r & 1) != 0 ? hot : other];
  b.channel = ch.channel;
  b.url = ch.url;
  b.extra = pl.extra_for(rng.next(), 32, cfg_.avg_bid_bytes);
  return b;
}

std::chrono::nanoseconds generator::due_at(uint64_t n) const noexcept {
  if (cfg_.rate == 0)
    return std::chrono::nanoseconds{0};
  // Rounded up, so that due_at(n) <= t exactly when n < due_count(t).
  auto ns =
      (static_cast<unsigned __int128>(n) * 1'000'000'000 + cfg_.rate - 1) /
      cfg_.rate;
  return std::chrono::nanoseconds{static_cast<int64_t>(ns)};
}

uint64_t generator::due_count(std::chrono::nanoseconds elapsed) const noexcept {
  if (cfg_.rate == 0)
    return end_;
  if (elapsed.count() < 0)
    return 0;
  auto n = static_cast<unsigned __int128>(elapsed.count()) * cfg_.rate /
               1'000'000'000 +
           1;
  return n < end_ ? static_cast<uint64_t>(n) : end_;
}

} // namespace sluice::nexmark

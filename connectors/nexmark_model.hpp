#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

#include <caf/expected.hpp>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"

namespace sluice::nexmark {

/// The three tables of the benchmark; an event is one row of one of them.
enum class event_kind : uint8_t { person, auction, bid };

/// "person", "auction" or "bid".
std::string_view to_string(event_kind k) noexcept;

/// Settings of the Nexmark event model. The defaults are those of the
/// benchmark's Flink source (nexmark.yaml and its table options).
struct model_config {
  uint64_t seed = 0;       ///< the same seed gives the same events
  uint64_t num_events = 0; ///< events over all splits; 0 = unbounded
  /// Wall-clock pacing over all splits in events/s; 0 = as fast as possible.
  /// When set it is also the event-time rate.
  uint64_t rate = 0;
  /// Event-time density in events/s when `rate` is 0 (Flink's
  /// first-event.rate): event n happens n * 1000 / event_rate ms after the
  /// first event, however fast the events are produced.
  uint64_t event_rate = 10000;
  uint32_t person_proportion = 1;
  uint32_t auction_proportion = 3;
  uint32_t bid_proportion = 46;
  /// A bid is for the current hot auction with probability 1 - 1/ratio.
  uint32_t hot_auction_ratio = 2;
  /// An auction is by the current hot seller with probability 1 - 1/ratio.
  uint32_t hot_seller_ratio = 4;
  /// A bid is by the current hot bidder with probability 1 - 1/ratio.
  uint32_t hot_bidder_ratio = 4;
  uint32_t active_people = 1000;     ///< other people are drawn among these
  uint32_t in_flight_auctions = 100; ///< other auctions are drawn among these
  uint32_t avg_person_bytes = 200;   ///< sets the length of `extra`
  uint32_t avg_auction_bytes = 500;
  uint32_t avg_bid_bytes = 100;
  int64_t first_event_time = 0; ///< event time of event 0, ms since epoch
  /// Share of events whose event time lies up to `max_delay_ms` behind the
  /// event's place in the sequence (they arrive late, out of order).
  double out_of_order_fraction = 0.1;
  uint32_t out_of_order_max_delay_ms = 3000;
  uint32_t splits = 1; ///< parallel instances sharing the event numbers
  uint32_t split = 0;  ///< this instance, in [0, splits)
};

/// A person (the columns of the Flink DDL's `person` table).
struct person {
  int64_t id = 0;
  std::string_view name;
  std::string_view email_address;
  std::array<char, 19> credit_card_digits{}; ///< "dddd dddd dddd dddd"
  std::string_view city;
  std::string_view state;
  int64_t date_time = 0; ///< ms since epoch
  std::string_view extra;

  /// The credit card number as text.
  std::string_view credit_card() const noexcept {
    return {credit_card_digits.data(), credit_card_digits.size()};
  }
};

/// An auction (the columns of the Flink DDL's `auction` table).
struct auction {
  int64_t id = 0;
  std::string_view item_name;
  std::string_view description;
  int64_t initial_bid = 0;
  int64_t reserve = 0;
  int64_t date_time = 0; ///< ms since epoch
  int64_t expires = 0;   ///< ms since epoch, after date_time
  int64_t seller = 0;
  int64_t category = 0;
  std::string_view extra;
};

/// A bid (the columns of the Flink DDL's `bid` table).
struct bid {
  int64_t auction = 0;
  int64_t bidder = 0;
  int64_t price = 0;
  std::string_view channel;
  std::string_view url;
  int64_t date_time = 0; ///< ms since epoch
  std::string_view extra;
};

/// Ids start here so that small runs still join (as the Flink generator).
inline constexpr int64_t first_person_id = 1000;
inline constexpr int64_t first_auction_id = 1000;
inline constexpr int64_t first_category_id = 10;
inline constexpr int64_t num_categories = 5;
/// The hot auction, seller and bidder are the first (bidder: second) of the
/// last group of this many auctions or people.
inline constexpr int64_t hot_group = 100;
/// How many not-yet-created people or auctions a random choice may name.
inline constexpr int64_t id_lead = 10;
/// Channels other than the four hot ones.
inline constexpr uint32_t num_channels = 10000;
/// Event number that means "none" (past the end).
inline constexpr uint64_t no_event = std::numeric_limits<uint64_t>::max();

/// The columns of `table` as the Nexmark Flink DDL names and orders them
/// (BIGINT, VARCHAR, TIMESTAMP(3)); `dateTime` is the rowtime.
columnar::schema_ptr table_schema(event_kind table);

/// What one `generator::fill` did.
struct fill_result {
  size_t rows = 0;   ///< rows appended
  uint64_t next = 0; ///< where the next fill starts; no_event: nothing left
};

/// Generates the Nexmark events. Event n (0, 1, 2, ...) is a pure function
/// of the configuration and n: any event can be made on its own, in any order,
/// by any split. Kinds follow the proportions in each block of
/// person + auction + bid proportion events (persons first, then auctions,
/// then bids); split s owns the blocks b with b % splits == s, so the splits
/// partition the event numbers and each keeps the proportions. Strings are
/// views into pools built once per process; nothing is allocated per event.
class generator {
 public:
  /// Checks the configuration (file:line:column is the caller's business).
  static caf::expected<generator> make(const model_config& cfg);

  const model_config& config() const noexcept { return cfg_; }

  /// Events in one block of the proportions.
  uint64_t block_size() const noexcept { return total_; }

  /// One past the last event number over all splits (no_event: unbounded).
  uint64_t end() const noexcept { return end_; }

  /// The kind of event n.
  event_kind kind(uint64_t n) const noexcept;

  /// Whether event n belongs to this split.
  bool owns(uint64_t n) const noexcept {
    return (n / total_) % cfg_.splits == cfg_.split;
  }

  /// The first event number >= n of kind k that this split owns, or
  /// no_event when there is none before end().
  uint64_t next_owned(uint64_t n, event_kind k) const noexcept;

  /// The first event number >= n of any kind that this split owns, or
  /// no_event.
  uint64_t next_owned(uint64_t n) const noexcept;

  /// How many events (of any kind) this split owns below event number n.
  uint64_t owned_before(uint64_t n) const noexcept;

  /// Appends to `out` the rows of `table` made from this split's events
  /// numbered `from` and up, skipping the other kinds, until `max_rows`
  /// rows, event number `until` (not included; for pacing) or the end. The
  /// batch must have the table's columns (see table_schema) and select all
  /// its rows. Writes the columns directly: no allocation once they have
  /// grown to a batch's size.
  caf::expected<fill_result> fill(columnar::row_batch& out, event_kind table,
                                  uint64_t from, size_t max_rows,
                                  uint64_t until = no_event) const;

  /// Event time of event n before any delay: first_event_time + n * 1000 /
  /// rate (ms, rounded down).
  int64_t nominal_time(uint64_t n) const noexcept;

  /// How far event n's event time lies behind its nominal time (0 for most).
  int64_t delay_ms(uint64_t n) const noexcept;

  /// Event time of event n: nominal_time(n) - delay_ms(n).
  int64_t event_time(uint64_t n) const noexcept {
    return nominal_time(n) - delay_ms(n);
  }

  /// Event n, which must be of the kind the name says.
  person make_person(uint64_t n) const noexcept;
  auction make_auction(uint64_t n) const noexcept;
  bid make_bid(uint64_t n) const noexcept;

  /// Id (base 0) of the last person created at or before event n.
  int64_t last_person(uint64_t n) const noexcept;

  /// Id (base 0) of the last auction created at or before event n (-1 for
  /// the persons of the first block).
  int64_t last_auction(uint64_t n) const noexcept;

  /// With `rate` set: the wall-clock time after the start at which event n
  /// is due; zero when unpaced.
  std::chrono::nanoseconds due_at(uint64_t n) const noexcept;

  /// With `rate` set: how many event numbers (0 .. result-1, over all
  /// splits) are due `elapsed` after the start; end() when unpaced.
  uint64_t due_count(std::chrono::nanoseconds elapsed) const noexcept;

 private:
  explicit generator(const model_config& cfg);

  /// What an event's references depend on: the same for every bid of a
  /// block, so a run of bids computes it once.
  struct id_context {
    int64_t hot_seller = 0;  ///< base 0
    int64_t hot_bidder = 0;  ///< base 0
    int64_t hot_auction = 0; ///< base 0
    int64_t person_lo = 0;   ///< random people: person_lo + [0, person_range)
    uint64_t person_range = 1;
    int64_t auction_lo =
        0; ///< random auctions: auction_lo + [0, auction_range)
    uint64_t auction_range = 1;
  };

  id_context ids_at(uint64_t n) const noexcept;
  void fill_persons(columnar::row_batch& out, uint64_t& n, uint64_t stop,
                    size_t& rows, size_t max_rows) const;
  void fill_auctions(columnar::row_batch& out, uint64_t& n, uint64_t stop,
                     size_t& rows, size_t max_rows) const;
  void fill_bids(columnar::row_batch& out, uint64_t& n, uint64_t stop,
                 size_t& rows, size_t max_rows) const;
  bid make_bid(uint64_t n, const id_context& ids) const noexcept;

  model_config cfg_;
  uint64_t total_ = 50;
  uint64_t end_ = no_event;
  uint64_t ts_rate_ = 10000;     ///< events/s of event time
  uint64_t seed_ = 0;            ///< the seed, mixed
  uint64_t delay_threshold_ = 0; ///< a 32-bit draw below it delays
};

} // namespace sluice::nexmark

#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include <caf/expected.hpp>

namespace sluice {

/// The batches a forward source has put into its channel, per producer, as
/// intervals of sequence numbers: what it drops when a peer sends them
/// again. Bounded: beyond `max_intervals` per producer the oldest interval
/// is forgotten, beyond `max_producers` the producer unseen longest. It
/// travels as the source's progress token, so a file channel keeps it
/// across restarts.
class forward_dedup {
 public:
  explicit forward_dedup(size_t max_producers = 64,
                         size_t max_intervals = 128) noexcept
      : max_producers_(max_producers), max_intervals_(max_intervals) {}

  /// True when batch `seq` of `producer` was recorded.
  bool contains(const std::string& producer, uint64_t seq) const;

  /// Records batch `seq` of `producer`.
  void insert(const std::string& producer, uint64_t seq);

  /// The whole set as text: one line per producer, "PRODUCER A-B C-D ...".
  std::string to_token() const;

  /// Reads what `to_token` wrote; an empty token is an empty set.
  static caf::expected<forward_dedup> from_token(const std::string& token,
                                                 size_t max_producers = 64,
                                                 size_t max_intervals = 128);

  size_t producers() const noexcept { return producers_.size(); }

  /// Intervals held for `producer` (0 when unknown).
  size_t intervals(const std::string& producer) const;

 private:
  struct producer_state {
    std::map<uint64_t, uint64_t> ranges; ///< first -> last, disjoint
    uint64_t last_use = 0;
  };

  void add_range(producer_state& p, uint64_t first, uint64_t last);
  void trim();

  size_t max_producers_;
  size_t max_intervals_;
  uint64_t clock_ = 0;
  std::map<std::string, producer_state> producers_;
};

} // namespace sluice

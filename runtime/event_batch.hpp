#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

namespace sluice {

// Batches cross disks and nodes as little-endian bytes (their index entries
// are copied as they sit in memory): a build for another byte order would
// write what other nodes and older runs misread, so it is refused here.
static_assert(std::endian::native == std::endian::little,
              "sluice's on-disk and on-wire batch formats are little-endian");

/// Where one event's body and headers live inside its batch.
struct event_entry {
  uint32_t body_offset = 0;
  uint32_t body_size = 0;
  uint32_t header_begin = 0;
  uint32_t header_count = 0;
};

/// One `key=value` header of an event, as offsets into the batch's bytes.
struct header_entry {
  uint32_t key_offset = 0;
  uint32_t key_size = 0;
  uint32_t value_offset = 0;
  uint32_t value_size = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_entry& x) {
  return f(caf::meta::type_name("event_entry"), x.body_offset, x.body_size,
           x.header_begin, x.header_count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, header_entry& x) {
  return f(caf::meta::type_name("header_entry"), x.key_offset, x.key_size,
           x.value_offset, x.value_size);
}

/// How `event_batch::decode` checks its input.
struct batch_decode_options {
  /// Check the encoding's own CRC (zlib crc32). Sizes and index ranges are
  /// always checked. Only a caller that has just checked a checksum over
  /// the same bytes (the shard log's CRC32C of the whole record) turns it
  /// off; only such a caller may decode v3, which carries no CRC of its
  /// own (with `check_crc` on, v3 is refused).
  bool check_crc = true;
};

/// How `event_batch::encode` writes.
struct batch_encode_options {
  /// Append the encoding's own CRC (v1 or v2). Off: v3, without it, for a
  /// container that checksums the same bytes itself (a shard's record
  /// batch, CRC32C).
  bool with_crc = true;
};

/// The v3 encoding of a batch as pieces to write without copying them:
/// `head`, then each of `parts` in order. The parts point into the batch
/// and stay valid while it is not changed.
struct batch_encoded_parts {
  static constexpr size_t head_size = 32;
  char head[head_size];
  /// Event index, header index, bytes, origin producer (any may be empty).
  std::span<const char> parts[4];
  /// Bytes of head and parts together.
  size_t size = 0;
};

/// A batch of events: the only unit of messaging between actors.
///
/// All bodies and header strings of the batch share one byte buffer; events
/// and headers are fixed-size entries pointing into it. Appending an event
/// copies its bytes into the buffer and allocates nothing once the vectors
/// have grown to their working size, so a reused batch costs no allocation
/// per event. Headers are added to the last appended event only, which keeps
/// each event's headers contiguous.
class event_batch {
 public:
  /// The largest number of bytes one batch holds (offsets are 32 bits).
  static constexpr size_t max_bytes = uint32_t(-1) / 2;

  size_t size() const noexcept { return events_.size(); }
  bool empty() const noexcept { return events_.empty(); }

  /// Bytes of bodies and header strings.
  size_t byte_size() const noexcept { return bytes_.size(); }

  std::string_view body(size_t i) const noexcept {
    auto& e = events_[i];
    return {bytes_.data() + e.body_offset, e.body_size};
  }

  std::span<const header_entry> headers(size_t i) const noexcept {
    auto& e = events_[i];
    return {headers_.data() + e.header_begin, e.header_count};
  }

  std::string_view key(const header_entry& h) const noexcept {
    return {bytes_.data() + h.key_offset, h.key_size};
  }

  std::string_view value(const header_entry& h) const noexcept {
    return {bytes_.data() + h.value_offset, h.value_size};
  }

  /// Returns the value of header `k` of event `i`, or an empty view.
  std::string_view header(size_t i, std::string_view k) const noexcept;

  /// Appends an event without headers.
  void append(std::string_view body);

  /// Appends event `i` of `other` with its headers.
  void append_from(const event_batch& other, size_t i);

  /// Adds a header to the last event; replaces an existing key's value.
  void add_header(std::string_view k, std::string_view v);

  /// Removes the last event and its bytes.
  void pop_back() noexcept;

  /// Removes all events but keeps the capacity for reuse.
  void clear() noexcept;

  void reserve(size_t events, size_t bytes);

  /// True when the batch names where it first entered sluice (see
  /// `set_origin`).
  bool has_origin() const noexcept { return !origin_producer_.empty(); }

  /// The producer that first sent this batch (empty: no origin).
  const std::string& origin_producer() const noexcept {
    return origin_producer_;
  }

  /// The sequence number the origin producer gave this batch (0: none).
  uint64_t origin_seq() const noexcept { return origin_seq_; }

  /// Names the batch by the producer and sequence it had when it first
  /// crossed a forward link, so relays further on (and topics) recognise a
  /// retry of it through another path. An empty `producer` removes the
  /// origin. `clear` removes it too; `append` and friends keep it.
  /// Refuses (false, unchanged) a name over 65535 bytes.
  bool set_origin(std::string producer, uint64_t seq);

  /// Equal events (bodies and headers, in order); the origin is not
  /// compared (see `same_origin`).
  friend bool operator==(const event_batch& x, const event_batch& y);

  /// True when both batches carry the same origin, or both none.
  friend bool same_origin(const event_batch& x, const event_batch& y) {
    return x.origin_producer_ == y.origin_producer_ &&
           x.origin_seq_ == y.origin_seq_;
  }

  /// The event and header index travel as blocks of bytes, not field by
  /// field (one serializer call per field costs more than the copy), in
  /// the host's byte order: nodes of a cluster share it. The origin travels
  /// with them.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, event_batch& x) {
    if constexpr (Inspector::reads_state) {
      auto events = index_bytes(x.events_);
      auto headers = index_bytes(x.headers_);
      return f(caf::meta::type_name("event_batch"), x.bytes_, events, headers,
               x.origin_producer_, x.origin_seq_);
    } else {
      std::vector<char> events, headers;
      auto load = [&] {
        load_index(events, x.events_);
        load_index(headers, x.headers_);
      };
      if constexpr (std::is_void_v<typename Inspector::result_type>) {
        f(caf::meta::type_name("event_batch"), x.bytes_, events, headers,
          x.origin_producer_, x.origin_seq_);
        load();
      } else {
        auto result = f(caf::meta::type_name("event_batch"), x.bytes_, events,
                        headers, x.origin_producer_, x.origin_seq_);
        load();
        return result;
      }
    }
  }

  /// True when every event's body and headers, and every header's key and
  /// value, lie inside the batch: a batch that came from elsewhere (a
  /// peer node, a disk) is checked before it is used.
  bool well_formed() const noexcept;

  /// Appends the binary encoding of this batch to `out`. The encoding
  /// names its version by its leading magic: v1 ("SLB1") for a batch
  /// without origin, byte for byte what earlier builds wrote; v2 ("SLB2")
  /// adds the origin; both end with a CRC. Without `opts.with_crc`: v3
  /// ("SLB3"), the v2 layout without the CRC, origin or not (see
  /// event_batch.cpp for the layouts; every field is little-endian).
  void encode(std::vector<char>& out, batch_encode_options opts = {}) const;

  /// The v3 encoding (`encode` without CRC) as pieces, copying nothing but
  /// the 32-byte head.
  batch_encoded_parts encode_parts() const noexcept;

  /// Size in bytes of `encode`'s output.
  size_t encoded_size(batch_encode_options opts = {}) const noexcept;

  /// Decodes a batch written by `encode` (v1, v2 or v3); checks sizes,
  /// index ranges and (unless `opts` says otherwise) the CRC.
  static caf::expected<event_batch> decode(std::span<const char> in,
                                           batch_decode_options opts = {});

  /// Decodes like `decode` into `out`, reusing the capacity of its buffers
  /// (a reader that keeps its batches allocates nothing once they have
  /// grown). On error `out` is left empty.
  static caf::error decode_into(std::span<const char> in, event_batch& out,
                                batch_decode_options opts = {});

 private:
  uint32_t push_bytes(std::string_view s);

  template <class T>
  static std::vector<char> index_bytes(const std::vector<T>& xs) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<char> out(xs.size() * sizeof(T));
    if (!xs.empty())
      std::memcpy(out.data(), xs.data(), out.size());
    return out;
  }

  /// A trailing partial entry (a damaged message) is dropped.
  template <class T>
  static void load_index(const std::vector<char>& in, std::vector<T>& xs) {
    xs.resize(in.size() / sizeof(T));
    if (!xs.empty())
      std::memcpy(xs.data(), in.data(), xs.size() * sizeof(T));
  }

  std::vector<char> bytes_;
  std::vector<event_entry> events_;
  std::vector<header_entry> headers_;
  std::string origin_producer_; ///< empty: no origin
  uint64_t origin_seq_ = 0;
};

} // namespace sluice

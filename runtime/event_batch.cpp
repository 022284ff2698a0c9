#include "runtime/event_batch.hpp"

#include <bit>
#include <cstring>
#include <string>
#include <utility>

#include <zlib.h>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

// Two encodings, told apart by their first four bytes. All fields are
// little-endian; the index entries are copied as they sit in memory.
//
// v1 ("SLB1", a batch without origin):
//   wire_header | events x event_entry | headers x header_entry | bytes |
//   crc32 (zlib) of everything before it
// v2 ("SLB2", a batch with an origin):
//   wire_header_v2 | events x event_entry | headers x header_entry | bytes |
//   origin producer (origin_size bytes) | crc32 of everything before it
// v3 ("SLB3", origin or not; origin_size 0 and origin_seq 0 for none):
//   the v2 layout without the trailing crc32. Only inside a container that
//   checksums these bytes itself (a shard's record batch, CRC32C): the
//   same bytes are not checksummed twice.
constexpr uint32_t batch_magic = 0x31424c53;    // "SLB1"
constexpr uint32_t batch_magic_v2 = 0x32424c53; // "SLB2"
constexpr uint32_t batch_magic_v3 = 0x33424c53; // "SLB3"

/// The largest origin producer name (the shard log stores its length in
/// 16 bits).
constexpr size_t max_origin_bytes = 65535;

struct wire_header {
  uint32_t magic;
  uint32_t events;
  uint32_t headers;
  uint32_t bytes;
};

struct wire_header_v2 {
  uint32_t magic;
  uint32_t events;
  uint32_t headers;
  uint32_t bytes;
  uint32_t origin_size; ///< bytes of the origin producer name
  uint32_t reserved;    ///< written 0, ignored when read
  uint64_t origin_seq;
};

static_assert(sizeof(wire_header) == 16);
static_assert(sizeof(wire_header_v2) == 32);
static_assert(sizeof(wire_header_v2) == batch_encoded_parts::head_size);

static_assert(std::endian::native == std::endian::little,
              "the batch encoding is little-endian raw memory");

uint32_t crc_of(const char* data, size_t size) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(data), size));
}

template <class T>
void put_raw(char*& out, const std::vector<T>& xs) {
  auto n = xs.size() * sizeof(T);
  if (n > 0)
    std::memcpy(out, xs.data(), n);
  out += n;
}

} // namespace

std::string_view event_batch::header(size_t i,
                                     std::string_view k) const noexcept {
  for (auto& h : headers(i))
    if (key(h) == k)
      return value(h);
  return {};
}

uint32_t event_batch::push_bytes(std::string_view s) {
  auto offset = static_cast<uint32_t>(bytes_.size());
  bytes_.insert(bytes_.end(), s.begin(), s.end());
  return offset;
}

void event_batch::append(std::string_view body) {
  auto offset = push_bytes(body);
  events_.push_back({offset, static_cast<uint32_t>(body.size()),
                     static_cast<uint32_t>(headers_.size()), 0});
}

void event_batch::append_from(const event_batch& other, size_t i) {
  append(other.body(i));
  for (auto& h : other.headers(i))
    add_header(other.key(h), other.value(h));
}

void event_batch::add_header(std::string_view k, std::string_view v) {
  auto& e = events_.back();
  for (auto i = e.header_begin; i < e.header_begin + e.header_count; ++i) {
    if (key(headers_[i]) == k) {
      auto& h = headers_[i];
      h.value_offset = push_bytes(v);
      h.value_size = static_cast<uint32_t>(v.size());
      return;
    }
  }
  header_entry h;
  h.key_offset = push_bytes(k);
  h.key_size = static_cast<uint32_t>(k.size());
  h.value_offset = push_bytes(v);
  h.value_size = static_cast<uint32_t>(v.size());
  headers_.push_back(h);
  ++e.header_count;
}

void event_batch::pop_back() noexcept {
  auto& e = events_.back();
  headers_.resize(e.header_begin);
  bytes_.resize(e.body_offset);
  events_.pop_back();
}

void event_batch::clear() noexcept {
  bytes_.clear();
  events_.clear();
  headers_.clear();
  origin_producer_.clear();
  origin_seq_ = 0;
}

bool event_batch::set_origin(std::string producer, uint64_t seq) {
  if (producer.size() > max_origin_bytes)
    return false;
  origin_seq_ = producer.empty() ? 0 : seq;
  origin_producer_ = std::move(producer);
  return true;
}

void event_batch::reserve(size_t events, size_t bytes) {
  events_.reserve(events);
  bytes_.reserve(bytes);
}

bool operator==(const event_batch& x, const event_batch& y) {
  if (x.size() != y.size())
    return false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x.body(i) != y.body(i))
      return false;
    auto xs = x.headers(i);
    auto ys = y.headers(i);
    if (xs.size() != ys.size())
      return false;
    for (size_t j = 0; j < xs.size(); ++j)
      if (x.key(xs[j]) != y.key(ys[j]) || x.value(xs[j]) != y.value(ys[j]))
        return false;
  }
  return true;
}

size_t event_batch::encoded_size(batch_encode_options opts) const noexcept {
  auto body = events_.size() * sizeof(event_entry) +
              headers_.size() * sizeof(header_entry) + bytes_.size();
  if (!opts.with_crc)
    return sizeof(wire_header_v2) + body + origin_producer_.size();
  body += sizeof(uint32_t);
  if (has_origin())
    return sizeof(wire_header_v2) + body + origin_producer_.size();
  return sizeof(wire_header) + body;
}

batch_encoded_parts event_batch::encode_parts() const noexcept {
  batch_encoded_parts out;
  wire_header_v2 hdr{batch_magic_v3,
                     static_cast<uint32_t>(events_.size()),
                     static_cast<uint32_t>(headers_.size()),
                     static_cast<uint32_t>(bytes_.size()),
                     static_cast<uint32_t>(origin_producer_.size()),
                     0,
                     origin_seq_};
  std::memcpy(out.head, &hdr, sizeof(hdr));
  out.parts[0] = {reinterpret_cast<const char*>(events_.data()),
                  events_.size() * sizeof(event_entry)};
  out.parts[1] = {reinterpret_cast<const char*>(headers_.data()),
                  headers_.size() * sizeof(header_entry)};
  out.parts[2] = {bytes_.data(), bytes_.size()};
  out.parts[3] = {origin_producer_.data(), origin_producer_.size()};
  out.size = encoded_size({.with_crc = false});
  return out;
}

void event_batch::encode(std::vector<char>& out,
                         batch_encode_options opts) const {
  auto start = out.size();
  out.resize(start + encoded_size(opts));
  auto* p = out.data() + start;
  if (!opts.with_crc) {
    auto parts = encode_parts();
    std::memcpy(p, parts.head, sizeof(parts.head));
    p += sizeof(parts.head);
    for (auto& part : parts.parts) {
      if (!part.empty())
        std::memcpy(p, part.data(), part.size());
      p += part.size();
    }
    return;
  }
  if (has_origin()) {
    wire_header_v2 hdr{batch_magic_v2,
                       static_cast<uint32_t>(events_.size()),
                       static_cast<uint32_t>(headers_.size()),
                       static_cast<uint32_t>(bytes_.size()),
                       static_cast<uint32_t>(origin_producer_.size()),
                       0,
                       origin_seq_};
    std::memcpy(p, &hdr, sizeof(hdr));
    p += sizeof(hdr);
  } else {
    wire_header hdr{batch_magic, static_cast<uint32_t>(events_.size()),
                    static_cast<uint32_t>(headers_.size()),
                    static_cast<uint32_t>(bytes_.size())};
    std::memcpy(p, &hdr, sizeof(hdr));
    p += sizeof(hdr);
  }
  put_raw(p, events_);
  put_raw(p, headers_);
  put_raw(p, bytes_);
  if (has_origin()) {
    std::memcpy(p, origin_producer_.data(), origin_producer_.size());
    p += origin_producer_.size();
  }
  auto crc =
      crc_of(out.data() + start, static_cast<size_t>(p - out.data()) - start);
  std::memcpy(p, &crc, sizeof(crc));
}

caf::expected<event_batch> event_batch::decode(std::span<const char> in,
                                               batch_decode_options opts) {
  event_batch result;
  if (auto err = decode_into(in, result, opts))
    return err;
  return result;
}

caf::error event_batch::decode_into(std::span<const char> in, event_batch& out,
                                    batch_decode_options opts) {
  out.clear();
  uint32_t magic;
  if (in.size() < sizeof(wire_header) + sizeof(uint32_t))
    return make_error(channel_errc::corrupt_log, "batch record too short");
  std::memcpy(&magic, in.data(), sizeof(magic));
  wire_header_v2 hdr{};
  size_t header_size = 0;
  size_t crc_size = sizeof(uint32_t);
  if (magic == batch_magic_v3) {
    // No CRC of its own: only a caller that checked one over these bytes.
    if (opts.check_crc)
      return make_error(channel_errc::corrupt_log,
                        "batch encoding v3 carries no CRC of its own; only "
                        "a checksummed record may hold it");
    if (in.size() < sizeof(wire_header_v2))
      return make_error(channel_errc::corrupt_log, "batch record too short");
    std::memcpy(&hdr, in.data(), sizeof(hdr));
    if (hdr.origin_size > max_origin_bytes)
      return make_error(channel_errc::corrupt_log,
                        "batch origin name too long");
    header_size = sizeof(wire_header_v2);
    crc_size = 0;
  } else if (magic == batch_magic) {
    wire_header v1;
    std::memcpy(&v1, in.data(), sizeof(v1));
    hdr = {v1.magic, v1.events, v1.headers, v1.bytes, 0, 0, 0};
    header_size = sizeof(wire_header);
  } else if (magic == batch_magic_v2) {
    if (in.size() < sizeof(wire_header_v2) + sizeof(uint32_t))
      return make_error(channel_errc::corrupt_log, "batch record too short");
    std::memcpy(&hdr, in.data(), sizeof(hdr));
    if (hdr.origin_size > max_origin_bytes)
      return make_error(channel_errc::corrupt_log,
                        "batch origin name too long");
    header_size = sizeof(wire_header_v2);
  } else {
    return make_error(channel_errc::corrupt_log, "bad batch magic");
  }
  auto expected = header_size + size_t{hdr.events} * sizeof(event_entry) +
                  size_t{hdr.headers} * sizeof(header_entry) + hdr.bytes +
                  hdr.origin_size + crc_size;
  if (in.size() != expected)
    return make_error(channel_errc::corrupt_log, "batch record size mismatch");
  if (opts.check_crc && crc_size > 0) {
    uint32_t crc;
    std::memcpy(&crc, in.data() + in.size() - sizeof(crc), sizeof(crc));
    if (crc != crc_of(in.data(), in.size() - sizeof(crc)))
      return make_error(channel_errc::corrupt_log, "batch record CRC mismatch");
  }
  auto* p = in.data() + header_size;
  out.events_.resize(hdr.events);
  if (hdr.events > 0)
    std::memcpy(out.events_.data(), p, hdr.events * sizeof(event_entry));
  p += hdr.events * sizeof(event_entry);
  out.headers_.resize(hdr.headers);
  if (hdr.headers > 0)
    std::memcpy(out.headers_.data(), p, hdr.headers * sizeof(header_entry));
  p += hdr.headers * sizeof(header_entry);
  out.bytes_.assign(p, p + hdr.bytes);
  p += hdr.bytes;
  if (hdr.origin_size > 0) {
    out.origin_producer_.assign(p, hdr.origin_size);
    out.origin_seq_ = hdr.origin_seq;
  }
  if (!out.well_formed()) {
    out.clear();
    return make_error(channel_errc::corrupt_log,
                      "batch entry or header out of range");
  }
  return {};
}

bool event_batch::well_formed() const noexcept {
  for (auto& e : events_)
    if (size_t{e.body_offset} + e.body_size > bytes_.size() ||
        size_t{e.header_begin} + e.header_count > headers_.size())
      return false;
  for (auto& h : headers_)
    if (size_t{h.key_offset} + h.key_size > bytes_.size() ||
        size_t{h.value_offset} + h.value_size > bytes_.size())
      return false;
  return true;
}

} // namespace sluice

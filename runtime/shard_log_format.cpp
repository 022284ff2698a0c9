#include "runtime/shard_log_format.hpp"

#include <cstring>

#include <fmt/format.h>

#include "runtime/crc32c.hpp"

namespace sluice::shard_format {

void put_u16(char* out, uint16_t v) {
  for (int i = 0; i < 2; ++i)
    out[i] = static_cast<char>(v >> (8 * i));
}

void put_u32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>(v >> (8 * i));
}

void put_u64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(v >> (8 * i));
}

uint16_t get_u16(const char* in) {
  uint16_t v = 0;
  for (int i = 1; i >= 0; --i)
    v = static_cast<uint16_t>((v << 8) | static_cast<unsigned char>(in[i]));
  return v;
}

uint32_t get_u32(const char* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

uint64_t get_u64(const char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

void append_u16(std::string& out, uint16_t v) {
  char b[2];
  put_u16(b, v);
  out.append(b, 2);
}

void append_u32(std::string& out, uint32_t v) {
  char b[4];
  put_u32(b, v);
  out.append(b, 4);
}

void append_u64(std::string& out, uint64_t v) {
  char b[8];
  put_u64(b, v);
  out.append(b, 8);
}

void encode_segment_header(char* out) {
  std::memcpy(out, segment_magic.data(), 8);
  put_u32(out + 8, version);
  put_u32(out + 12, 0);
}

bool valid_segment_header(const char* in) {
  return std::memcmp(in, segment_magic.data(), 8) == 0 &&
         get_u32(in + 8) == version;
}

void encode(const batch_header& h, char* out) {
  put_u32(out, h.magic);
  put_u16(out + 4, h.header_version);
  put_u16(out + 6, h.flags);
  put_u32(out + 8, h.crc);
  put_u32(out + 12, h.length);
  put_u64(out + 16, h.base_offset);
  put_u32(out + 24, h.count);
  put_u16(out + 28, h.producer_length);
  put_u16(out + 30, h.reserved);
  put_u64(out + 32, h.seq);
  put_u64(out + 40, static_cast<uint64_t>(h.timestamp_ms));
}

batch_header decode_batch_header(const char* in) {
  batch_header h;
  h.magic = get_u32(in);
  h.header_version = get_u16(in + 4);
  h.flags = get_u16(in + 6);
  h.crc = get_u32(in + 8);
  h.length = get_u32(in + 12);
  h.base_offset = get_u64(in + 16);
  h.count = get_u32(in + 24);
  h.producer_length = get_u16(in + 28);
  h.reserved = get_u16(in + 30);
  h.seq = get_u64(in + 32);
  h.timestamp_ms = static_cast<int64_t>(get_u64(in + 40));
  return h;
}

uint32_t batch_crc(const char* encoded, std::string_view producer,
                   const char* payload, size_t payload_size) {
  auto crc = crc32c::extend(0, encoded + crc_field_end,
                            batch_header_size - crc_field_end);
  crc = crc32c::extend(crc, producer.data(), producer.size());
  return crc32c::extend(crc, payload, payload_size);
}

std::string file_name(uint64_t base, std::string_view ext) {
  return fmt::format("{:020}{}", base, ext);
}

bool parse_segment_name(std::string_view name, uint64_t& base) {
  if (name.size() != 24 || name.substr(20) != ".log")
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9')
      return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  base = v;
  return true;
}

} // namespace sluice::shard_format

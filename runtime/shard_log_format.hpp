#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

/// The on-disk format of a topic shard's log, described once. Every field
/// is little-endian and encoded explicitly, byte by byte; every file starts
/// with a magic and a format version.
///
/// Segment file `<base offset, 20 digits>.log`: a 16-byte `segment_header`,
/// then record batches, each a `batch_header`, the producer's name
/// (`producer_length` bytes) and the payload (`event_batch::encode`). The
/// batch header's CRC32C covers producer and payload. Payloads written
/// since 2026-12 are encoding v3 ("SLB3", little-endian, no CRC of its
/// own: the CRC32C covers it); older ones are v1 or v2 ("SLB1", "SLB2",
/// with a zlib CRC of their own, not checked again when read). One segment
/// may hold both: readers take every version, by the payload's magic; the
/// batch header stays version 1.
///
/// Offset index `<base>.index` and time index `<base>.timeindex`: an
/// `index_header` (covering a segment of `segment_size` bytes), then
/// `index_entry` (relative offset u32, file position u32) or `time_entry`
/// (timestamp i64, offset u64) records.
///
/// `producers.snapshot`: magic "SLTOPPRD", version u32, crc32c u32 (of all
/// that follows), log end offset covered u64, producer count u32, then per
/// producer: name length u16, name, last use u64, interval count u32,
/// intervals (first u64, last u64), recent count u32, recent batches (seq
/// u64, base offset u64, count u32).
///
/// `clean_shutdown`: magic "SLTOPCLN", version u32, crc32c u32 (of what
/// follows), end offset u64, active segment size i64.
namespace sluice::shard_format {

constexpr uint32_t version = 1;
constexpr std::string_view segment_magic = "SLTOPSEG";
constexpr std::string_view index_magic = "SLTOPIDX";
constexpr std::string_view time_index_magic = "SLTOPTIX";
constexpr std::string_view snapshot_magic = "SLTOPPRD";
constexpr std::string_view clean_magic = "SLTOPCLN";
constexpr uint32_t batch_magic = 0x42544c53; // "SLTB"

/// Heads each segment file: magic (8), version u32, reserved u32.
constexpr size_t segment_header_size = 16;

/// Writes a segment header into `out` (16 bytes).
void encode_segment_header(char* out);

/// True when `in` (16 bytes) is a segment header of a known version.
bool valid_segment_header(const char* in);

/// Heads each record batch.
struct batch_header {
  uint32_t magic = batch_magic;
  uint16_t header_version = 1;
  uint16_t flags = 0;
  uint32_t crc = 0;    ///< crc32c of every byte after this field
  uint32_t length = 0; ///< header + producer + payload
  uint64_t base_offset = 0;
  uint32_t count = 0; ///< records
  uint16_t producer_length = 0;
  uint16_t reserved = 0;
  uint64_t seq = 0;
  int64_t timestamp_ms = 0; ///< the broker's clock when appended
};

/// Byte layout of `batch_header` on disk.
constexpr size_t batch_header_size = 48;
constexpr size_t crc_field_end = 12; ///< the CRC covers bytes from here on
static_assert(4 + 2 + 2 + 4 + 4 + 8 + 4 + 2 + 2 + 8 + 8 == batch_header_size);

/// Writes `h` into `out` (48 bytes), its crc field as it is.
void encode(const batch_header& h, char* out);

/// Reads a header from `in` (48 bytes); checks nothing.
batch_header decode_batch_header(const char* in);

/// The CRC a batch must carry: of header bytes 12..48 (`encoded`, with any
/// crc field), then `producer` and `payload`.
uint32_t batch_crc(const char* encoded, std::string_view producer,
                   const char* payload, size_t payload_size);

/// Header of an index file: magic (8), version u32, crc32c u32 (of what
/// follows: the rest of the header and the entries), segment size i64,
/// entry count u32, reserved u32.
constexpr size_t index_header_size = 32;

/// One entry of the sparse offset index.
struct index_entry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
};
constexpr size_t index_entry_size = 8;

/// One entry of the time index: the batch at `offset` is the first with a
/// timestamp as high as `timestamp_ms`.
struct time_entry {
  int64_t timestamp_ms = 0;
  uint64_t offset = 0;
};
constexpr size_t time_entry_size = 16;

/// Little-endian helpers.
void put_u16(char* out, uint16_t v);
void put_u32(char* out, uint32_t v);
void put_u64(char* out, uint64_t v);
uint16_t get_u16(const char* in);
uint32_t get_u32(const char* in);
uint64_t get_u64(const char* in);

/// Appends little-endian values to `out`.
void append_u16(std::string& out, uint16_t v);
void append_u32(std::string& out, uint32_t v);
void append_u64(std::string& out, uint64_t v);

/// The name of the segment with base offset `base`: 20 digits and `ext`.
std::string file_name(uint64_t base, std::string_view ext);

/// The base offset of a segment file named `name` (20 digits ".log"), or
/// false.
bool parse_segment_name(std::string_view name, uint64_t& base);

} // namespace sluice::shard_format

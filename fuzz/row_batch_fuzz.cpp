// Decoding any bytes as a row batch either fails cleanly or yields a well
// formed batch whose encoding decodes to equal rows and the same bytes; the
// decoded batch then goes through what operators do with received rows
// (hash, partition, gather, compact, render) without reading out of bounds.
// Each input is decoded twice: as it is, and with its trailing CRC made
// right, so the checks behind the CRC (sizes, offsets, types) see arbitrary
// values too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "runtime/columnar/codec.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/columnar/hash.hpp"
#include "runtime/crc32c.hpp"

using namespace sluice::columnar;

namespace {

void exercise(const row_batch& b) {
  std::vector<uint32_t> keys(b.num_columns());
  std::iota(keys.begin(), keys.end(), 0u);
  std::vector<uint64_t> hashes;
  hash_keys(b, keys, hashes);
  if (hashes.size() != b.active_rows())
    std::abort();
  std::vector<std::vector<uint32_t>> parts;
  partition(hashes, b, 3, parts);
  row_batch joined{b.row_schema()};
  for (auto& p : parts)
    joined.append_rows(b, p);
  if (joined.num_rows() != b.num_rows() || !joined.well_formed())
    std::abort();
  std::vector<uint32_t> odd;
  for (uint32_t i = 1; i < joined.num_rows(); i += 2)
    odd.push_back(i);
  joined.set_selection(odd);
  joined.compact();
  if (!joined.well_formed())
    std::abort();
  std::string text;
  for (size_t r = 0; r < b.num_rows() && r < 64; ++r) {
    text.clear();
    append_csv_row(b, r, text);
    for (size_t i = 0; i < b.num_columns(); ++i)
      append_json_value(b.col(i), r, text);
  }
}

int check(std::span<const char> in) {
  auto batch = decode(in);
  if (!batch)
    return 0;
  if (!batch->well_formed())
    std::abort();
  std::vector<char> again;
  encode(*batch, again);
  if (again.size() != in.size() ||
      std::memcmp(again.data(), in.data(), in.size()) != 0)
    std::abort();
  auto back = decode(again);
  if (!back || !equal_rows(*back, *batch))
    std::abort();
  exercise(*batch);
  return 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const char> in{reinterpret_cast<const char*>(data), size};
  check(in);
  if (size < 4)
    return 0;
  std::vector<char> fixed{in.begin(), in.end()};
  auto crc = sluice::crc32c::value(fixed.data(), size - 4);
  std::memcpy(fixed.data() + size - 4, &crc, sizeof(crc));
  return check(fixed);
}

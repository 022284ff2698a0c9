// Decoding any bytes either fails cleanly or yields a batch whose encoding
// decodes to an equal batch (events and origin), with every view inside its
// buffer. Each input is decoded twice: as it is, and with its trailing CRC
// made right, so the checks behind the CRC (sizes, offsets, ranges) see
// arbitrary values too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <zlib.h>

#include "runtime/event_batch.hpp"

namespace {

int check(std::span<const char> in) {
  auto batch = sluice::event_batch::decode(in);
  if (!batch)
    return 0;
  size_t total = 0;
  for (size_t i = 0; i < batch->size(); ++i) {
    total += batch->body(i).size();
    for (auto& h : batch->headers(i))
      total += batch->key(h).size() + batch->value(h).size();
  }
  std::vector<char> again;
  batch->encode(again);
  auto back = sluice::event_batch::decode(again);
  if (!back || !(*back == *batch) || !same_origin(*back, *batch))
    std::abort();
  return total == size_t(-1) ? 1 : 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const char> in{reinterpret_cast<const char*>(data), size};
  check(in);
  if (size < 4)
    return 0;
  std::vector<char> fixed{in.begin(), in.end()};
  auto crc = static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(fixed.data()), size - 4));
  std::memcpy(fixed.data() + size - 4, &crc, sizeof(crc));
  return check(fixed);
}

// Decoding any bytes either fails cleanly or yields a batch whose encoding
// decodes to an equal batch, with every view inside its buffer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "runtime/event_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const char> in{reinterpret_cast<const char*>(data), size};
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
  if (!back || !(*back == *batch))
    std::abort();
  return total == size_t(-1) ? 1 : 0;
}

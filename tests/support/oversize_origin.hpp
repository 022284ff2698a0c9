#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "runtime/event_batch.hpp"

namespace sluice::test {

/// `plain` (a batch without origin) as a peer could send it after
/// deserialization: with an origin producer of `n` bytes, which
/// `set_origin` would refuse above 65535.
inline event_batch with_oversize_origin(event_batch plain, size_t n) {
  std::vector<char> buf;
  {
    caf::binary_serializer sink{nullptr, buf};
    if (sink(plain))
      return {};
  }
  // Without origin the encoding ends with an empty string (its length, one
  // byte) and the seq (8 bytes): those are replaced.
  buf.resize(buf.size() - 9);
  {
    std::string origin(n, 'o');
    uint64_t seq = 1;
    caf::binary_serializer sink{nullptr, buf};
    if (sink(origin, seq))
      return {};
  }
  event_batch out;
  caf::binary_deserializer source{nullptr, buf};
  if (source(out))
    return {};
  return out;
}

} // namespace sluice::test

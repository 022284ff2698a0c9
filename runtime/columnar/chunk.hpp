#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "runtime/columnar/codec.hpp"
#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/types.hpp"

namespace sluice {

/// Read-only rows shared between sender and receiver; a local send copies
/// only the pointer. The receiver never changes them (it gathers into its
/// own batches).
struct row_batch_ptr {
  std::shared_ptr<const columnar::row_batch> ptr;

  /// Rows in the batch's selection (0 without a batch).
  size_t rows() const noexcept { return ptr ? ptr->active_rows() : 0; }

  bool empty() const noexcept { return rows() == 0; }
};

/// Wraps a batch into a shared, read-only pointer.
inline row_batch_ptr make_row_batch_ptr(columnar::row_batch b) {
  return {std::make_shared<const columnar::row_batch>(std::move(b))};
}

/// A remote send encodes the batch with `columnar::encode` into one byte
/// vector (one serializer call, not one per value); an absent batch is an
/// empty vector. Loading decodes and checks it (`columnar::decode`).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row_batch_ptr& x) {
  if constexpr (Inspector::reads_state) {
    std::vector<char> bytes;
    if (x.ptr)
      columnar::encode(*x.ptr, bytes);
    return f(caf::meta::type_name("row_batch_ptr"), bytes);
  } else {
    std::vector<char> bytes;
    auto load = [&]() -> caf::error {
      x.ptr.reset();
      if (bytes.empty())
        return {};
      auto b = columnar::decode(bytes);
      if (!b)
        return std::move(b.error());
      x.ptr = std::make_shared<const columnar::row_batch>(std::move(*b));
      return {};
    };
    if constexpr (std::is_void_v<typename Inspector::result_type>) {
      f(caf::meta::type_name("row_batch_ptr"), bytes);
      load();
    } else {
      auto result = f(caf::meta::type_name("row_batch_ptr"), bytes);
      if (result)
        return result;
      return load();
    }
  }
}

/// The producer has no input now: leave it out of the watermark's min.
inline constexpr uint8_t chunk_idle = 1;

/// The producer's last chunk: it sends nothing after it.
inline constexpr uint8_t chunk_end = 2;

/// What one operator instance sends another: rows, then the sender's
/// watermark after them.
struct stream_chunk {
  uint32_t producer = 0; ///< the sender's index among the receiver's inputs
                         ///< on `port`
  uint8_t port = 0;      ///< 0: the only / left input; 1: right input (join)
  uint8_t flags = 0;     ///< chunk_idle | chunk_end
  /// The watermark after these rows; never decreases per producer.
  int64_t watermark = columnar::min_timestamp;
  row_batch_ptr rows; ///< may be empty: a watermark, idle or end marker
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_chunk& x) {
  return f(caf::meta::type_name("stream_chunk"), x.producer, x.port, x.flags,
           x.watermark, x.rows);
}

} // namespace sluice

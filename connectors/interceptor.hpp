#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/event_batch.hpp"

namespace sluice {

/// Changes or drops an event as its source appends it (Flume's interceptor).
class interceptor {
 public:
  virtual ~interceptor() = default;

  /// Acts on the last event of `batch`; returns false to drop it.
  virtual bool apply(event_batch& batch) = 0;
};

using interceptor_ptr = std::unique_ptr<interceptor>;

/// Appends events to a batch through a chain of interceptors.
class batch_builder {
 public:
  batch_builder(event_batch& batch,
                const std::vector<interceptor_ptr>& chain) noexcept
      : batch_(batch), chain_(chain) {}

  /// Appends an event; returns false when an interceptor dropped it.
  bool append(std::string_view body) {
    batch_.append(body);
    return finish();
  }

  /// Appends an event with one header set by the source.
  bool append(std::string_view body, std::string_view key,
              std::string_view value) {
    batch_.append(body);
    batch_.add_header(key, value);
    return finish();
  }

  /// Appends an event with headers set by the source.
  bool
  append(std::string_view body,
         std::initializer_list<std::pair<std::string_view, std::string_view>>
             headers) {
    batch_.append(body);
    for (auto& [k, v] : headers)
      batch_.add_header(k, v);
    return finish();
  }

  /// Events kept so far in the batch.
  size_t size() const noexcept { return batch_.size(); }

  /// Events dropped by interceptors through this builder.
  size_t dropped() const noexcept { return dropped_; }

 private:
  bool finish() {
    for (auto& i : chain_) {
      if (!i->apply(batch_)) {
        batch_.pop_back();
        ++dropped_;
        return false;
      }
    }
    return true;
  }

  event_batch& batch_;
  const std::vector<interceptor_ptr>& chain_;
  size_t dropped_ = 0;
};

} // namespace sluice

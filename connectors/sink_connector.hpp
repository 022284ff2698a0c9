#pragma once

#include <memory>

#include <caf/error.hpp>

#include "connectors/source_connector.hpp"
#include "runtime/event_batch.hpp"

namespace sluice {

/// The outside world behind a sink actor.
///
/// The sink actor takes a lease of one or more batches from its channel,
/// calls `write` for each, then `flush`; it commits the lease only when all
/// of them succeed and rolls it back otherwise. A connector must therefore
/// tolerate seeing the same events again after an error (at-least-once).
class sink_connector {
 public:
  virtual ~sink_connector() = default;

  /// Acquires resources (opens files, connects).
  virtual caf::error open() = 0;

  /// Writes one batch.
  virtual caf::error write(const event_batch& batch) = 0;

  /// Makes everything written so far durable; the lease commits after it.
  virtual caf::error flush() { return {}; }

  /// Called about once a second for time-based work such as rolling files.
  virtual caf::error tick() { return {}; }

  /// A health check that writes nothing: is the destination reachable and
  /// willing (a peer node answers, a directory is writable)? A sink group
  /// probes a sink that failed before it hands it real batches again.
  /// Called only between `open` and `close`.
  virtual caf::error probe() { return {}; }

  /// Flushes and releases resources. Idempotent.
  virtual void close() {}
};

using sink_connector_ptr = std::unique_ptr<sink_connector>;

} // namespace sluice

#pragma once

#include <cstdint>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/protocols.hpp"

namespace sluice::test {

/// An embedding program's source, written against `channel_actor` as the
/// engine hands it over: attaches, waits for its credit, puts the bodies
/// "0", "1", ... up to `count` in batches of at most `batch` events, within
/// its credit and with increasing seq, and ends normally once every batch is
/// acknowledged.
caf::actor spawn_numbered_source(caf::actor_system& sys, channel_actor channel,
                                 uint64_t count, uint64_t batch);

} // namespace sluice::test

#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace sluice {

/// Announces every message type that crosses actors (and, later, nodes) and
/// the project's error categories. Call once on each actor system config.
void register_types(caf::actor_system_config& cfg);

} // namespace sluice

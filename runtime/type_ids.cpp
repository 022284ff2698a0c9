#include "runtime/type_ids.hpp"

#include <caf/actor_system_config.hpp>

#include "runtime/errors.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/lease.hpp"
#include "runtime/metrics.hpp"

namespace sluice {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<event_entry>("sluice::event_entry");
  cfg.add_message_type<header_entry>("sluice::header_entry");
  cfg.add_message_type<event_batch>("sluice::event_batch");
  cfg.add_message_type<shared_batches>("sluice::shared_batches");
  cfg.add_message_type<lease>("sluice::lease");
  // Between nodes (forward link, node actor): a type sent to a remote actor
  // fails at run time if it is missing here.
  cfg.add_message_type<forward_request>("sluice::forward_request");
  cfg.add_message_type<std::vector<uint64_t>>("std::vector<uint64_t>");
  cfg.add_message_type<metrics_snapshot>("sluice::metrics_snapshot");
  cfg.add_message_type<node_status>("sluice::node_status");
  register_error_categories(cfg);
}

} // namespace sluice

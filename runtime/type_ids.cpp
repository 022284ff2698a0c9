#include "runtime/type_ids.hpp"

#include <caf/actor_system_config.hpp>

#include "runtime/columnar/chunk.hpp"
#include "runtime/errors.hpp"
#include "runtime/event_batch.hpp"
#include "runtime/forward_request.hpp"
#include "runtime/lease.hpp"
#include "runtime/metrics.hpp"
#include "runtime/topic_types.hpp"

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
  // Topics: shards and topics answer topic sinks and sources on any node.
  cfg.add_message_type<append_result>("sluice::append_result");
  cfg.add_message_type<read_batch>("sluice::read_batch");
  cfg.add_message_type<std::vector<read_batch>>(
      "std::vector<sluice::read_batch>");
  cfg.add_message_type<fetch_result>("sluice::fetch_result");
  cfg.add_message_type<shard_offsets>("sluice::shard_offsets");
  cfg.add_message_type<group_offsets>("sluice::group_offsets");
  cfg.add_message_type<shard_actor>("sluice::shard_actor");
  cfg.add_message_type<std::vector<shard_actor>>(
      "std::vector<sluice::shard_actor>");
  cfg.add_message_type<topic_metadata>("sluice::topic_metadata");
  cfg.add_message_type<topic_actor>("sluice::topic_actor");
  // SQL operators: rows between operator instances (issue 7).
  cfg.add_message_type<row_batch_ptr>("sluice::row_batch_ptr");
  cfg.add_message_type<stream_chunk>("sluice::stream_chunk");
  register_error_categories(cfg);
}

} // namespace sluice

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "runtime/lease.hpp"

namespace sluice {

/// One lease crossing a forward link: its batches, and for each batch the
/// name it keeps every time it is sent (`producer` and a sequence number),
/// so the receiving node can tell a batch it already committed.
struct forward_request {
  /// The sending channel's run: node, channel and store epoch.
  std::string producer;
  std::vector<uint64_t> seqs; ///< one per batch, in batch order
  shared_batches batches;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forward_request& x) {
  return f(caf::meta::type_name("forward_request"), x.producer, x.seqs,
           x.batches);
}

/// Builds the request that carries `l` from a channel of `origin` (for
/// example "node/channel").
inline forward_request make_forward_request(const std::string& origin,
                                            const lease& l) {
  forward_request r;
  r.producer = origin + "#" + std::to_string(l.epoch);
  r.seqs = l.seqs;
  r.batches = l.batches;
  return r;
}

} // namespace sluice

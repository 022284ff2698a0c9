// The relay cluster's failure guard. It asks Catch whether the last
// assertion passed, so it lives apart from relay_cluster.cpp, which the
// failover benchmark links without Catch.

#include "tests/support/relay_cluster.hpp"
#include <catch2/catch.hpp>
#include <cstdio>

namespace sluice::test {

relay_cluster::logs_on_failure::~logs_on_failure() {
  if (Catch::getResultCapture().lastAssertionPassed())
    return;
  for (auto name : {"agent1", "agentA", "agentB", "store"})
    std::fprintf(stderr, "---- %s\n%s\n", name, c.log(name).c_str());
}

} // namespace sluice::test

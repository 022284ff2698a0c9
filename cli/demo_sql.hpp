#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "cli/demo_mariadb.hpp"

namespace sluice {

/// The demo's compute tier: a private MariaDB server holding the dimension
/// table `regions` (each region's display name), and the SQL job
/// `per_region` that the node `compute` of the demo's topology runs
/// (`[jobs.per_region]`). The job reads the topic `lines` of the node
/// `store` (no `address`: the topology says where it is), looks each
/// order's region up in `regions`, and keeps orders and revenue per
/// region, upserted into the MariaDB table `per_region`.
class demo_compute {
 public:
  /// Starts the server, fills `regions`, writes the script
  /// DIR/compute/per_region.sql and puts the server's URL and the job's
  /// password in this process's environment (DEMO_DB_URL,
  /// DEMO_DB_PASSWORD), which the node processes started after it inherit.
  static caf::expected<std::unique_ptr<demo_compute>>
  start(const std::filesystem::path& dir);

  /// The topology's part: the node `compute` on control port `port` and
  /// the job.
  std::string topology(uint16_t port) const;

  /// The script's text.
  static const char* script();

  /// Waits, up to `timeout` (or until `interrupted`), until the table
  /// `per_region` holds the totals of the application's `written` orders
  /// (numbered from 1).
  bool wait_for_totals(int64_t written, std::chrono::seconds timeout,
                       const std::atomic<bool>* interrupted) const;

  /// Prints the table's rows, each with whether it matches what the
  /// application wrote; true when all match.
  bool report(int64_t written) const;

 private:
  demo_compute() = default;

  std::filesystem::path dir_; ///< DIR/compute
  std::unique_ptr<demo_mariadb> db_;
};

} // namespace sluice

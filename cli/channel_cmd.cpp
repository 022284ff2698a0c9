#include "cli/channel_cmd.hpp"

#include <iostream>

#include "runtime/errors.hpp"
#include "runtime/file_store_repair.hpp"

namespace sluice {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_damaged = 1;
constexpr int exit_cannot = 2;

} // namespace

int channel_check_command(const std::string& dir) {
  auto report = check_channel(dir);
  if (!report) {
    std::cerr << "sluice channel check: " << describe(report.error()) << '\n';
    return exit_cannot;
  }
  for (auto& line : report->lines)
    std::cout << line << '\n';
  return report->healthy ? exit_ok : exit_damaged;
}

int channel_repair_command(const std::string& dir) {
  auto result = repair_channel(dir);
  if (!result) {
    std::cerr << "sluice channel repair: " << describe(result.error()) << '\n';
    return exit_damaged;
  }
  if (!result->changed) {
    std::cout << "channel " << dir << ": nothing to repair\n";
    return exit_ok;
  }
  for (auto& line : result->done)
    std::cout << "repaired: " << line << '\n';
  if (result->lost.empty())
    std::cout << "lost: nothing uncommitted\n";
  for (auto& line : result->lost)
    std::cout << "lost: " << line << '\n';
  auto after = check_channel(dir);
  if (!after) {
    std::cerr << "sluice channel repair: " << describe(after.error()) << '\n';
    return exit_damaged;
  }
  if (!after->healthy) {
    for (auto& line : after->lines)
      std::cout << line << '\n';
    std::cout << "the channel is still damaged\n";
    return exit_damaged;
  }
  std::cout << "channel " << dir << " opens cleanly now\n";
  return exit_ok;
}

} // namespace sluice

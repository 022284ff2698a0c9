#include "cli/signals.hpp"

#include <chrono>
#include <cstdlib>
#include <pthread.h>

#include "runtime/log.hpp"

namespace sluice {

namespace {

/// A stop signal this soon after the first is the same request delivered
/// twice, not an operator asking to force the exit.
constexpr auto duplicate_window = std::chrono::seconds{1};

} // namespace

sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  // A blocked signal is delivered to sigwait even when its disposition is
  // SIG_IGN, so an ignored SIGHUP is left out of the set, not blocked.
  struct sigaction hup {};
  if (sigaction(SIGHUP, nullptr, &hup) != 0 || hup.sa_handler != SIG_IGN)
    sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

const char* signal_name(int sig) {
  switch (sig) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  case SIGHUP:
    return "SIGHUP";
  default:
    return "a signal";
  }
}

signal_waiter::signal_waiter(const sigset_t& signals,
                             std::function<void(int)> on_first, bool force_exit)
    : signals_(signals), on_first_(std::move(on_first)),
      force_exit_(force_exit), thread_([this] { run(); }) {}

signal_waiter::~signal_waiter() {
  // Wake the thread if no signal came (SIGTERM is in every set).
  done_ = true;
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void signal_waiter::run() {
  int sig = 0;
  if (sigwait(&signals_, &sig) != 0 || done_)
    return;
  auto first = std::chrono::steady_clock::now();
  on_first_(sig);
  while (sigwait(&signals_, &sig) == 0 && !done_) {
    if (!force_exit_)
      continue;
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - first);
    if (since < duplicate_window) {
      log().info("received {} {} ms after the first signal: the same stop, "
                 "delivered twice (signal again after 1 s to force the exit)",
                 signal_name(sig), since.count());
      continue;
    }
    log().warn("received {} while stopping: exiting now", signal_name(sig));
    std::_Exit(1);
  }
}

} // namespace sluice

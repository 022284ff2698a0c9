#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace sluice {

/// Blocks SIGINT, SIGTERM and SIGHUP in every thread started after this
/// call, so that one thread can wait for them with sigwait. A signal the
/// process inherited as ignored (`nohup`) stays ignored.
sigset_t block_stop_signals();

/// "SIGINT", "SIGTERM", "SIGHUP" or "a signal".
const char* signal_name(int sig);

/// A thread that waits for the signals of `signals` (blocked by
/// `block_stop_signals`) until it is destroyed. The first signal calls
/// `on_first` with its number. With `force_exit` set, a later signal 1 s or
/// more after the first exits the process at once with code 1; one sooner
/// is the same request delivered twice (GNU `timeout` signals the process,
/// then its group) and is only logged.
class signal_waiter {
 public:
  signal_waiter(const sigset_t& signals, std::function<void(int)> on_first,
                bool force_exit);
  ~signal_waiter();

  signal_waiter(const signal_waiter&) = delete;
  signal_waiter& operator=(const signal_waiter&) = delete;

 private:
  void run();

  sigset_t signals_;
  std::function<void(int)> on_first_;
  bool force_exit_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace sluice

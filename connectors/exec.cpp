#include "connectors/exec.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

extern char** environ;

namespace sluice {

exec_source::exec_source(exec_config cfg, connector_context ctx)
    : cfg_(std::move(cfg)), ctx_(std::move(ctx)),
      out_(static_cast<size_t>(cfg_.max_line_length)), err_(4096) {}

exec_source::~exec_source() {
  close();
}

caf::error exec_source::spawn() {
  for (int* fd : {&out_fd_, &err_fd_}) {
    if (*fd >= 0)
      ::close(*fd);
    *fd = -1;
  }
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return make_error(connector_errc::process_failed,
                      std::string{"pipe: "} + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return make_error(connector_errc::process_failed,
                      std::string{"pipe: "} + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Its own process group, so a stop reaches every process of a pipeline
  // and the terminal's Ctrl-C reaches only sluice, which stops it in order.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  const char* argv[] = {"/bin/sh", "-c", cfg_.command.c_str(), nullptr};
  auto rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr,
                        const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    pid_ = -1;
    return make_error(connector_errc::process_failed,
                      "cannot run '" + cfg_.command +
                          "': " + std::strerror(rc));
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
  ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  ::fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  out_eof_ = false;
  out_ = line_buffer{static_cast<size_t>(cfg_.max_line_length)};
  cut_counted_ = 0;
  log().info("source {}: started '{}' (pid {})", ctx_.name, cfg_.command, pid_);
  return {};
}

caf::error exec_source::open() {
  return spawn();
}

void exec_source::drain_stderr() {
  if (err_fd_ < 0)
    return;
  for (;;) {
    auto n = err_.fill(err_fd_);
    std::string_view line;
    while (err_.next(line))
      if (cfg_.log_stderr)
        log().warn("source {}: stderr: {}", ctx_.name, line);
    if (n <= 0) {
      if (n == 0) {
        ::close(err_fd_);
        err_fd_ = -1;
      }
      return;
    }
  }
}

bool exec_source::reap(bool wait) {
  if (pid_ < 0)
    return true;
  int status = 0;
  auto r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
  if (r != pid_)
    return false;
  auto first = std::exchange(first_run_, false);
  if (WIFEXITED(status)) {
    auto code = WEXITSTATUS(status);
    log().info("source {}: '{}' exited with status {}", ctx_.name, cfg_.command,
               code);
    // The shell's codes for a command it cannot run (POSIX).
    if (first && (code == 127 || code == 126))
      failure_ = make_permanent(
          make_error(connector_errc::process_failed,
                     std::string{code == 127 ? "command not found"
                                             : "command not executable"} +
                         ": '" + cfg_.command + "' exited with status " +
                         std::to_string(code) + " at its first start"));
  } else if (WIFSIGNALED(status))
    log().warn("source {}: '{}' was killed by signal {}", ctx_.name,
               cfg_.command, WTERMSIG(status));
  pid_ = -1;
  return true;
}

caf::expected<poll_status> exec_source::poll(batch_builder& out,
                                             size_t max_events) {
  if (failure_)
    return failure_;
  if (restart_at_) {
    if (std::chrono::steady_clock::now() < *restart_at_)
      return poll_status::idle;
    restart_at_.reset();
    if (auto err = spawn())
      return err;
  }
  drain_stderr();
  size_t emitted = 0;
  std::string_view line;
  while (emitted < max_events) {
    if (out_.next(line)) {
      out.append(line);
      ++emitted;
      continue;
    }
    if (out_eof_ || out_fd_ < 0)
      break;
    auto n = out_.fill(out_fd_);
    if (n == 0)
      out_eof_ = true;
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
      return make_error(connector_errc::io_error,
                        "reading the output of '" + cfg_.command +
                            "': " + std::strerror(errno));
    else if (n < 0)
      break;
  }
  if (auto cut = out_.cut_lines(); cut > cut_counted_) {
    ctx_.metrics->errors.fetch_add(cut - cut_counted_,
                                   std::memory_order_relaxed);
    cut_counted_ = cut;
  }
  if (emitted >= max_events)
    return poll_status::more;
  if (!out_eof_)
    return poll_status::idle;
  // End of output: the last line may lack its newline.
  if (auto last = out_.rest(); !last.empty()) {
    out.append(last);
    ++emitted;
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
  drain_stderr();
  // The command may keep running after closing its output: wait for it
  // without blocking, polling again later.
  if (!reap(false))
    return emitted > 0 ? poll_status::more : poll_status::idle;
  drain_stderr();
  if (err_fd_ >= 0) {
    ::close(err_fd_);
    err_fd_ = -1;
  }
  // Lines read so far go out first; the next poll reports the failure.
  if (failure_ && emitted > 0)
    return poll_status::more;
  if (failure_)
    return failure_;
  if (cfg_.restart) {
    restart_at_ = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds{cfg_.restart_throttle_ms};
    log().info("source {}: restarting '{}' in {} ms", ctx_.name, cfg_.command,
               cfg_.restart_throttle_ms);
    return emitted > 0 ? poll_status::more : poll_status::idle;
  }
  return poll_status::finished;
}

void exec_source::close() {
  if (pid_ > 0) {
    auto group = pid_;
    ::kill(-group, SIGTERM);
    for (int i = 0; i < 200 && !reap(false); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    // What is left of the group (a shell that ignored SIGTERM, or what
    // outlived it) is killed.
    ::kill(-group, SIGKILL);
    if (pid_ > 0)
      reap(true);
  }
  for (int* fd : {&out_fd_, &err_fd_}) {
    if (*fd >= 0)
      ::close(*fd);
    *fd = -1;
  }
}

source_type exec_source_type() {
  source_type t;
  t.name = "exec";
  t.help = "runs a command and reads its output lines";
  t.options = {
      {"command", option_type::string, "shell command", true},
      {"restart", option_type::boolean, "run the command again when it exits",
       false, option_value{false}},
      {"restart_throttle", option_type::duration, "pause before a restart",
       false, option_value{int64_t{10'000}}, 0},
      {"log_stderr", option_type::boolean, "log the command's stderr", false,
       option_value{true}},
      {"max_line_length", option_type::bytes, "longer lines are cut", false,
       option_value{int64_t{1} << 20}, 16, int64_t{64} << 20},
  };
  t.make = [](const connector_context& ctx,
              const options& opts) -> caf::expected<source_connector_ptr> {
    exec_config cfg;
    cfg.command = opts.get_string("command");
    cfg.restart = opts.get_bool("restart");
    cfg.restart_throttle_ms = opts.get_int("restart_throttle");
    cfg.log_stderr = opts.get_bool("log_stderr");
    cfg.max_line_length = opts.get_int("max_line_length");
    return source_connector_ptr{
        std::make_unique<exec_source>(std::move(cfg), ctx)};
  };
  return t;
}

} // namespace sluice

#include "connectors/exec.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "tests/connectors/connector_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

source_connector_ptr make_exec(const connector_context& ctx,
                               const std::string& command, options o = {}) {
  o.set("command", command);
  auto c = test::make_source(exec_source_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

} // namespace

SCENARIO("the exec source emits a command's output lines", "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("a command whose last line lacks a newline") {
    auto src = make_exec(ctx, "printf 'a\\nb\\nc'");
    REQUIRE(!src->open());
    WHEN("it is drained") {
      auto r = test::drain_all(*src);
      THEN("it yields a, b, c, then finishes") {
        CHECK(!r.failed);
        CHECK(r.finished);
        CHECK(r.lines == std::vector<std::string>{"a", "b", "c"});
        CHECK(dynamic_cast<exec_source&>(*src).pid() == -1);
      }
    }
    src->close();
  }
  GIVEN("a command that also writes to stderr") {
    options o;
    o.set("log_stderr", false);
    auto src = make_exec(ctx,
                         "echo one; echo oops >&2; echo two; "
                         "echo more trouble >&2; echo three",
                         o);
    REQUIRE(!src->open());
    WHEN("it is drained") {
      auto r = test::drain_all(*src);
      THEN("only the stdout lines come out, intact") {
        CHECK(r.finished);
        CHECK(r.lines == std::vector<std::string>{"one", "two", "three"});
        CHECK(ctx.metrics->errors == 0);
      }
    }
    src->close();
  }
  GIVEN("a command with a lot of output, polled in small batches") {
    auto src = make_exec(ctx, "seq 1 5000");
    REQUIRE(!src->open());
    WHEN("it is drained 7 events at a time") {
      auto r = test::drain(
          *src, [](const std::vector<std::string>&) { return false; }, 7);
      THEN("every line arrives once and in order") {
        CHECK(r.finished);
        REQUIRE(r.lines.size() == 5000);
        for (size_t i = 0; i < r.lines.size(); ++i)
          REQUIRE(r.lines[i] == std::to_string(i + 1));
      }
    }
    src->close();
  }
}

SCENARIO("the exec source restarts its command", "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("echo x with restart and a 50 ms throttle") {
    options o;
    o.set("restart", true);
    o.set("restart_throttle", int64_t{50});
    auto src = make_exec(ctx, "echo x", o);
    REQUIRE(!src->open());
    WHEN("it is polled for a while") {
      auto r = test::drain_n(*src, 3);
      THEN("x comes out again and again and it never finishes") {
        CHECK(!r.failed);
        CHECK(!r.finished);
        REQUIRE(r.lines.size() >= 2);
        CHECK(std::all_of(r.lines.begin(), r.lines.end(),
                          [](auto& x) { return x == "x"; }));
      }
    }
    src->close();
    CHECK(dynamic_cast<exec_source&>(*src).pid() == -1);
  }
}

SCENARIO("the exec source cuts over-long lines", "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("max_line_length 16 and a 40-byte line") {
    options o;
    o.set("max_line_length", int64_t{16});
    auto src = make_exec(ctx,
                         "echo short; "
                         "echo 0123456789abcdefghijklmnopqrstuvwxyzABCD; "
                         "echo after",
                         o);
    REQUIRE(!src->open());
    WHEN("it is drained") {
      auto r = test::drain_all(*src);
      THEN("the long line is cut to 16 bytes and counted as an error") {
        CHECK(r.finished);
        CHECK(r.lines ==
              std::vector<std::string>{"short", "0123456789abcdef", "after"});
        CHECK(ctx.metrics->errors == 1);
      }
    }
    src->close();
  }
}

SCENARIO("closing the exec source stops a running command", "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("a command that runs for 30 s") {
    auto src = make_exec(ctx, "sleep 30");
    REQUIRE(!src->open());
    auto& exec = dynamic_cast<exec_source&>(*src);
    auto pid = exec.pid();
    REQUIRE(pid > 0);
    auto r = test::drain(
        *src, [](const std::vector<std::string>&) { return false; }, 16, 50ms);
    REQUIRE(!r.finished);
    WHEN("it is closed") {
      auto start = std::chrono::steady_clock::now();
      src->close();
      auto took = std::chrono::steady_clock::now() - start;
      THEN("close returns quickly and the child is reaped") {
        CHECK(took < 20s);
        CHECK(exec.pid() == -1);
        errno = 0;
        CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
        CHECK(errno == ECHILD);
      }
      AND_THEN("closing again is harmless") {
        src->close();
        CHECK(exec.pid() == -1);
      }
    }
  }
  GIVEN("a command that ignores SIGTERM") {
    auto src = make_exec(ctx, "trap '' TERM; while :; do sleep 0.05; done");
    REQUIRE(!src->open());
    auto& exec = dynamic_cast<exec_source&>(*src);
    auto pid = exec.pid();
    REQUIRE(pid > 0);
    // Let the shell install its trap.
    std::this_thread::sleep_for(200ms);
    WHEN("it is closed") {
      auto start = std::chrono::steady_clock::now();
      src->close();
      auto took = std::chrono::steady_clock::now() - start;
      THEN("close escalates to SIGKILL within a few seconds") {
        CHECK(took < 20s);
        CHECK(exec.pid() == -1);
        errno = 0;
        CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
        CHECK(errno == ECHILD);
      }
    }
  }
}

SCENARIO("the exec source is closed by its destructor", "[exec]") {
  auto ctx = test::make_context("exec");
  pid_t pid = -1;
  {
    auto src = make_exec(ctx, "sleep 30");
    REQUIRE(!src->open());
    pid = dynamic_cast<exec_source&>(*src).pid();
    REQUIRE(pid > 0);
  }
  errno = 0;
  CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
}

SCENARIO("exec poll does not block on a command that closed its stdout",
         "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("a command that closes stdout and keeps running for 3 s") {
    auto src = make_exec(ctx, "echo x; exec >&-; sleep 3");
    REQUIRE(!src->open());
    WHEN("it is polled") {
      std::vector<interceptor_ptr> chain;
      auto longest = std::chrono::steady_clock::duration::zero();
      std::vector<std::string> lines;
      // Until "x" arrived and for at least a second (the child may be slow
      // to start on a busy machine).
      auto t0 = std::chrono::steady_clock::now();
      auto deadline = t0 + 30s;
      while (std::chrono::steady_clock::now() < deadline &&
             (lines.empty() || std::chrono::steady_clock::now() - t0 < 1s)) {
        event_batch b;
        batch_builder builder{b, chain};
        auto start = std::chrono::steady_clock::now();
        auto st = src->poll(builder, 16);
        longest = std::max(longest, std::chrono::steady_clock::now() - start);
        REQUIRE(st);
        for (size_t i = 0; i < b.size(); ++i)
          lines.emplace_back(b.body(i));
        if (*st == poll_status::finished)
          break;
        std::this_thread::sleep_for(5ms);
      }
      THEN("no single poll blocks for long (the contract says a few ms)") {
        CHECK(lines == std::vector<std::string>{"x"});
        CHECK(longest < 500ms);
      }
    }
    src->close();
  }
}

namespace {

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e :
       std::filesystem::directory_iterator{"/proc/self/fd"})
    ++n;
  return n;
}

} // namespace

SCENARIO("exec restarts do not leak descriptors", "[exec]") {
  auto ctx = test::make_context("exec");
  GIVEN("a restarting command that closes stdout before stderr") {
    options o;
    o.set("restart", true);
    o.set("restart_throttle", int64_t{0});
    o.set("log_stderr", false);
    auto src = make_exec(ctx, "echo x; exec >&-; sleep 0.05", o);
    REQUIRE(!src->open());
    auto r = test::drain_n(*src, 2);
    REQUIRE(r.lines.size() >= 2);
    auto before = open_fds();
    WHEN("it restarts ten more times") {
      auto more = test::drain_n(*src, 10);
      REQUIRE(more.lines.size() >= 10);
      THEN("the number of open descriptors does not grow with them") {
        // Either count may catch a start in progress (its pipes open, the
        // old ones not yet closed): two at most. A descriptor leaked per
        // restart would add ten.
        CHECK(open_fds() <= before + 2);
      }
    }
    src->close();
  }
}

SCENARIO("stopping the exec source ends every process of its command",
         "[exec]") {
  auto ctx = test::make_context("exec");
  // Orphans of the command become this process's children, so that their
  // end can be seen (and reaped) here whatever reaps orphans on this host.
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  // The shell prints its pid, which is also its process group's id.
  auto src = make_exec(ctx, "echo $$; sleep 300 | cat");
  REQUIRE(!src->open());
  std::string first;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (first.empty() && std::chrono::steady_clock::now() < deadline) {
    event_batch b;
    std::vector<interceptor_ptr> none;
    batch_builder out{b, none};
    REQUIRE(src->poll(out, 10));
    if (b.size() > 0)
      first = std::string{b.body(0)};
    else
      std::this_thread::sleep_for(10ms);
  }
  REQUIRE(!first.empty());
  auto group = static_cast<pid_t>(std::stol(first));
  REQUIRE(::kill(-group, 0) == 0);
  src->close();
  THEN("nothing of its process group is left") {
    bool gone = false;
    for (int i = 0; i < 1000 && !gone; ++i) {
      while (::waitpid(-group, nullptr, WNOHANG) > 0) {
      }
      gone = ::kill(-group, 0) != 0 && errno == ESRCH;
      if (!gone)
        std::this_thread::sleep_for(10ms);
    }
    CHECK(gone);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

namespace {

/// Polls `src` until it fails or finishes; the failure, if any.
caf::error poll_until_done(source_connector& src) {
  std::vector<interceptor_ptr> chain;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    event_batch b;
    batch_builder builder{b, chain};
    auto st = src.poll(builder, 16);
    if (!st)
      return st.error();
    if (*st == poll_status::finished)
      return {};
    std::this_thread::sleep_for(3ms);
  }
  FAIL("the command neither failed nor finished");
  return {};
}

} // namespace

SCENARIO("an exec command the shell cannot run fails permanently", "[exec]") {
  auto ctx = test::make_context("exec");
  options o;
  o.set("restart", true);
  o.set("restart_throttle", int64_t{10});
  GIVEN("a command that does not exist") {
    auto src = make_exec(ctx, "sluice-test-no-such-command --flag", o);
    REQUIRE(!src->open());
    THEN("it fails with 'command not found', an error no restart cures") {
      auto err = poll_until_done(*src);
      REQUIRE(err);
      CHECK(is_permanent(err));
      CHECK_THAT(describe(err), Catch::Contains("command not found"));
    }
    src->close();
  }
  GIVEN("a file that is not executable") {
    test::temp_dir tmp;
    { std::ofstream{tmp / "data.txt"} << "x\n"; }
    fs::permissions(tmp / "data.txt",
                    fs::perms::owner_read | fs::perms::owner_write);
    auto src = make_exec(ctx, tmp / "data.txt", o);
    REQUIRE(!src->open());
    THEN("it fails with 'not executable'") {
      auto err = poll_until_done(*src);
      REQUIRE(err);
      CHECK(is_permanent(err));
      CHECK_THAT(describe(err), Catch::Contains("not executable"));
    }
    src->close();
  }
  GIVEN("a command that fails in another way") {
    options once;
    auto src = make_exec(ctx, "exit 3", once);
    REQUIRE(!src->open());
    THEN("it finishes as before") {
      CHECK(!poll_until_done(*src));
    }
    src->close();
  }
}

#include "connectors/console_sink.hpp"

#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/connectors/connector_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;

namespace {

sink_connector_ptr make_console(options o = {}) {
  auto ctx = test::make_context("console", "sink");
  auto c = test::make_sink(console_sink_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

/// Sends stdout to a file while alive.
class stdout_capture {
 public:
  explicit stdout_capture(std::string path) : path_(std::move(path)) {
    std::fflush(stdout);
    saved_ = ::dup(STDOUT_FILENO);
    int fd =
        ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (saved_ >= 0 && fd >= 0)
      ::dup2(fd, STDOUT_FILENO);
    if (fd >= 0)
      ::close(fd);
  }

  stdout_capture(const stdout_capture&) = delete;
  stdout_capture& operator=(const stdout_capture&) = delete;

  ~stdout_capture() { restore(); }

  /// Restores stdout and returns what was written meanwhile.
  std::string finish() {
    restore();
    return test::read_file(path_);
  }

 private:
  void restore() {
    if (saved_ < 0)
      return;
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

  std::string path_;
  int saved_ = -1;
};

event_batch sample_batch() {
  event_batch b;
  b.append("first line");
  b.add_header("k", "v");
  b.add_header("host", "h1");
  b.append("second line");
  b.append("");
  return b;
}

} // namespace

SCENARIO("the console sink writes events as lines on stdout", "[console]") {
  test::temp_dir tmp;
  GIVEN("a console sink without headers") {
    auto sink = make_console();
    REQUIRE(!sink->open());
    WHEN("two batches are written") {
      caf::error err1;
      caf::error err2;
      std::string out;
      {
        stdout_capture cap{tmp / "stdout"};
        err1 = sink->write(sample_batch());
        event_batch more;
        more.append("third");
        err2 = sink->write(more);
        out = cap.finish();
      }
      THEN("stdout holds one line per event, bodies only") {
        CHECK(!err1);
        CHECK(!err2);
        CHECK(out == "first line\nsecond line\n\nthird\n");
      }
    }
    sink->close();
  }
  GIVEN("a console sink with headers") {
    options o;
    o.set("headers", true);
    auto sink = make_console(o);
    REQUIRE(!sink->open());
    WHEN("a batch is written") {
      caf::error err;
      std::string out;
      {
        stdout_capture cap{tmp / "stdout"};
        err = sink->write(sample_batch());
        out = cap.finish();
      }
      THEN("each line starts with its headers in braces") {
        CHECK(!err);
        CHECK(out == "{k=v, host=h1} first line\n{} second line\n{} \n");
      }
    }
    sink->close();
  }
}

#include "connectors/file_sink.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "tests/connectors/connector_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

namespace {

sink_connector_ptr make_file_sink(const std::string& directory,
                                  options o = {}) {
  o.set("directory", directory);
  auto ctx = test::make_context("file", "sink");
  auto c = test::make_sink(file_sink_type(), ctx, std::move(o));
  REQUIRE(c);
  REQUIRE(*c);
  return std::move(*c);
}

/// The regular files of `dir`, sorted by name.
std::vector<fs::path> files_in(const std::string& dir) {
  std::vector<fs::path> result;
  for (auto& e : fs::directory_iterator{dir})
    if (e.is_regular_file())
      result.push_back(e.path());
  std::sort(result.begin(), result.end());
  return result;
}

std::string concat(const std::vector<fs::path>& files) {
  std::string result;
  for (auto& f : files)
    result += test::read_file(f.string());
  return result;
}

event_batch batch_of(std::initializer_list<std::string_view> lines) {
  event_batch b;
  for (auto x : lines)
    b.append(x);
  return b;
}

} // namespace

SCENARIO("the file sink writes events as lines", "[file_sink]") {
  test::temp_dir tmp;
  auto dir = tmp / "out";
  GIVEN("a file sink on a new directory") {
    auto sink = make_file_sink(dir);
    REQUIRE(!sink->open());
    WHEN("two batches are written, flushed and the sink closed") {
      REQUIRE(!sink->write(batch_of({"a", "bb"})));
      REQUIRE(!sink->write(batch_of({"ccc"})));
      REQUIRE(!sink->flush());
      auto path = dynamic_cast<file_sink&>(*sink).current_path();
      sink->close();
      THEN("one file holds the lines, named with prefix and suffix") {
        auto files = files_in(dir);
        REQUIRE(files.size() == 1);
        CHECK(files[0] == path);
        auto name = files[0].filename().string();
        CHECK(name.rfind("events.00000001.", 0) == 0);
        CHECK(name.size() > 4);
        CHECK(name.substr(name.size() - 4) == ".log");
        CHECK(test::read_file(files[0].string()) == "a\nbb\nccc\n");
      }
      AND_THEN("closing again is harmless") {
        sink->close();
        CHECK(files_in(dir).size() == 1);
      }
    }
    WHEN("nothing is written before close") {
      sink->close();
      THEN("no empty file is left behind") {
        CHECK(files_in(dir).empty());
      }
    }
  }
  GIVEN("a file sink with headers") {
    options o;
    o.set("headers", true);
    o.set("sync", std::string{"none"});
    auto sink = make_file_sink(dir, o);
    REQUIRE(!sink->open());
    event_batch b;
    b.append("x");
    b.add_header("k", "v");
    b.add_header("n", "1");
    b.append("y");
    REQUIRE(!sink->write(b));
    sink->close();
    THEN("each line starts with its headers") {
      auto files = files_in(dir);
      REQUIRE(files.size() == 1);
      CHECK(test::read_file(files[0].string()) == "{k=v, n=1} x\n{} y\n");
    }
  }
}

SCENARIO("the file sink rolls files by size", "[file_sink]") {
  test::temp_dir tmp;
  auto dir = tmp / "out";
  GIVEN("a file sink with roll_size 20 bytes") {
    options o;
    o.set("roll_size", int64_t{20});
    auto sink = make_file_sink(dir, o);
    REQUIRE(!sink->open());
    WHEN("30 one-line batches are written") {
      std::string expected;
      for (int i = 0; i < 30; ++i) {
        auto line = "line-" + std::to_string(i);
        expected += line + "\n";
        REQUIRE(!sink->write(batch_of({line})));
        REQUIRE(!sink->flush());
      }
      sink->close();
      THEN("there are several non-empty files whose concatenation in name "
           "order is the input") {
        auto files = files_in(dir);
        CHECK(files.size() > 5);
        for (auto& f : files)
          CHECK(fs::file_size(f) > 0);
        CHECK(concat(files) == expected);
      }
    }
  }
}

SCENARIO("the file sink rolls files by time", "[file_sink]") {
  test::temp_dir tmp;
  auto dir = tmp / "out";
  GIVEN("a file sink with roll_interval 1 ms") {
    options o;
    o.set("roll_interval", int64_t{1});
    auto sink = make_file_sink(dir, o);
    REQUIRE(!sink->open());
    auto& fsink = dynamic_cast<file_sink&>(*sink);
    WHEN("an event is written and tick runs 5 ms later") {
      REQUIRE(!sink->write(batch_of({"first"})));
      auto before = fsink.current_path();
      std::this_thread::sleep_for(5ms);
      REQUIRE(!sink->tick());
      THEN("a new file is started") {
        auto after = fsink.current_path();
        CHECK(after != before);
        CHECK(fs::exists(after));
        CHECK(after.filename().string() > before.filename().string());
        CHECK(test::read_file(before.string()) == "first\n");
      }
      AND_WHEN("more is written") {
        REQUIRE(!sink->write(batch_of({"second"})));
        sink->close();
        THEN("it goes to the new file") {
          auto files = files_in(dir);
          REQUIRE(files.size() == 2);
          CHECK(test::read_file(files[1].string()) == "second\n");
        }
      }
    }
    WHEN("tick runs on an empty file") {
      auto before = fsink.current_path();
      std::this_thread::sleep_for(5ms);
      REQUIRE(!sink->tick());
      THEN("it does not roll") {
        CHECK(fsink.current_path() == before);
      }
    }
    sink->close();
  }
}

SCENARIO("a restarted file sink starts a new file after the old ones",
         "[file_sink]") {
  test::temp_dir tmp;
  auto dir = tmp / "out";
  GIVEN("a directory with files from an earlier sink") {
    options o;
    o.set("roll_size", int64_t{4});
    {
      auto first = make_file_sink(dir, o);
      REQUIRE(!first->open());
      REQUIRE(!first->write(batch_of({"old-1"})));
      REQUIRE(!first->write(batch_of({"old-2"})));
      REQUIRE(!first->write(batch_of({"old-3"})));
      first->close();
    }
    auto old_files = files_in(dir);
    REQUIRE(old_files.size() == 3);
    std::vector<std::string> old_contents;
    for (auto& f : old_files)
      old_contents.push_back(test::read_file(f.string()));
    WHEN("a second sink writes to the same directory") {
      auto second = make_file_sink(dir, o);
      REQUIRE(!second->open());
      REQUIRE(!second->write(batch_of({"new-1"})));
      REQUIRE(!second->write(batch_of({"new-2"})));
      second->close();
      THEN("the old files are untouched and the new ones sort after them") {
        auto files = files_in(dir);
        REQUIRE(files.size() == 5);
        for (size_t i = 0; i < old_files.size(); ++i) {
          CHECK(files[i] == old_files[i]);
          CHECK(test::read_file(files[i].string()) == old_contents[i]);
        }
        CHECK(test::read_file(files[3].string()) == "new-1\n");
        CHECK(test::read_file(files[4].string()) == "new-2\n");
        CHECK(concat(files) == "old-1\nold-2\nold-3\nnew-1\nnew-2\n");
      }
    }
  }
  GIVEN("files of another prefix in the directory") {
    fs::create_directories(dir);
    std::ofstream{dir + "/other.00000099.x.log"} << "foreign\n";
    auto sink = make_file_sink(dir);
    REQUIRE(!sink->open());
    REQUIRE(!sink->write(batch_of({"mine"})));
    auto name = dynamic_cast<file_sink&>(*sink).current_path().filename();
    sink->close();
    THEN("their counters are ignored") {
      CHECK(name.string().rfind("events.00000001.", 0) == 0);
      CHECK(test::read_file(dir + "/other.00000099.x.log") == "foreign\n");
    }
  }
}

SCENARIO("the file sink reports an unusable directory", "[file_sink]") {
  test::temp_dir tmp;
  GIVEN("a directory path under a regular file") {
    std::ofstream{tmp / "plain"} << "x";
    auto dir = tmp / "plain/sub";
    auto sink = make_file_sink(dir);
    WHEN("the sink opens") {
      auto err = sink->open();
      THEN("it fails naming the path, with an error no retry cures") {
        REQUIRE(err);
        CHECK_THAT(describe(err), Catch::Contains(dir));
        CHECK(is_permanent(err));
      }
      AND_THEN("writes fail instead of crashing") {
        CHECK(sink->write(batch_of({"x"})));
        sink->close();
      }
    }
  }
}

SCENARIO("only the first start of a file sink fails permanently; a roll or "
         "a restart that cannot open retries",
         "[file_sink][permanent]") {
  test::temp_dir tmp;
  auto dir = tmp / "out";
  GIVEN("a sink that has written and rolled") {
    options o;
    o.set("roll_size", int64_t{4});
    auto sink = make_file_sink(dir, o);
    REQUIRE(!sink->open());
    REQUIRE(!sink->write(batch_of({"one"})));
    REQUIRE(files_in(dir).size() == 2); // "one\n" filled a file: rolled
    WHEN("its directory is replaced by a file before the next roll") {
      fs::rename(dir, tmp / "moved");
      std::ofstream{dir} << "in the way";
      auto err = sink->write(batch_of({"two"}));
      THEN("the roll fails, naming the path, with an error a restart may "
           "cure") {
        REQUIRE(err);
        CHECK_THAT(describe(err), Catch::Contains("cannot open") &&
                                      Catch::Contains(dir) &&
                                      Catch::Contains("Not a directory"));
        CHECK(!is_permanent(err));
        // The batch reached the file opened at the last roll.
        CHECK(test::read_file(files_in(tmp / "moved")[1].string()) == "two\n");
      }
      sink->close();
    }
  }
  GIVEN("a directory path under a regular file") {
    std::ofstream{tmp / "plain"} << "x";
    auto blocked = tmp / "plain/sub";
    options o;
    o.set("directory", blocked);
    auto ctx = test::make_context("file", "sink");
    WHEN("the sink starts for the first time in the run") {
      auto sink = test::make_sink(file_sink_type(), ctx, o);
      REQUIRE(sink);
      auto err = (*sink)->open();
      THEN("the error is permanent") {
        REQUIRE(err);
        CHECK(is_permanent(err));
      }
    }
    WHEN("the sink was restarted in the run") {
      ctx.metrics->restarts = 1;
      auto sink = test::make_sink(file_sink_type(), ctx, o);
      REQUIRE(sink);
      auto err = (*sink)->open();
      THEN("the same error is transient: the run worked before") {
        REQUIRE(err);
        CHECK_THAT(describe(err), Catch::Contains(blocked));
        CHECK(!is_permanent(err));
      }
    }
  }
}

SCENARIO("the file sink rolls inside a batch at a line boundary",
         "[file_sink]") {
  test::temp_dir tmp;
  options o;
  o.set("roll_size", int64_t{10'000});
  auto sink = make_file_sink(tmp / "out", o);
  REQUIRE(!sink->open());
  event_batch b;
  std::string line(100, 'x'); // 101 bytes with its newline
  for (int i = 0; i < 1000; ++i)
    b.append(line);
  REQUIRE(!sink->write(b));
  REQUIRE(!sink->flush());
  sink->close();
  auto files = files_in(tmp / "out");
  THEN("no file passes roll_size, every file holds whole lines, and nothing "
       "is lost") {
    CHECK(files.size() >= 10);
    for (auto& f : files) {
      CHECK(fs::file_size(f) <= 10'000);
      CHECK(fs::file_size(f) % 101 == 0);
    }
    CHECK(concat(files).size() == 101'000);
  }
}

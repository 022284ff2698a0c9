#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "connectors/registry.hpp"
#include "connectors/taildir.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tail_driver.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

SCENARIO("taildir emits complete lines once, in order", "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "first\nsecond\nthi");
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(2));
  THEN("a partial line waits for its newline") {
    t.poll_once();
    CHECK(t.lines == std::vector<std::string>{"first", "second"});
    append(log, "rd\r\nfourth\n");
    REQUIRE(t.poll_until(4));
    CHECK(t.lines ==
          std::vector<std::string>{"first", "second", "third", "fourth"});
    CHECK(t.files.back() == log);
  }
}

SCENARIO("taildir follows rotation by rename and by copy-truncate",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "a0\na1\n");
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(2));
  WHEN("the file is renamed away while its writer still appends to it, and "
       "a new file takes its name") {
    auto old_name = dir / "logs/app.log.1";
    fs::rename(log, old_name);
    append(old_name, "a2\na3\n");
    append(log, "b0\nb1\n");
    REQUIRE(t.poll_until(6));
    THEN("every line of both arrives once, in order per file") {
      std::vector<std::string> old_lines, new_lines;
      for (size_t i = 0; i < t.lines.size(); ++i)
        (t.lines[i][0] == 'a' ? old_lines : new_lines).push_back(t.lines[i]);
      CHECK(old_lines == numbered("a", 0, 4));
      CHECK(new_lines == numbered("b", 0, 2));
    }
  }
  WHEN("the file is copied and truncated, then written again") {
    fs::copy_file(log, dir / "logs/app.log.1");
    fs::resize_file(log, 0);
    std::this_thread::sleep_for(20ms);
    t.poll_once();
    append(log, "c0\nc1\nc2\n");
    REQUIRE(t.poll_until(5));
    THEN("the new content is read from its start") {
      CHECK(t.lines == std::vector<std::string>{"a0", "a1", "c0", "c1", "c2"});
    }
  }
}

SCENARIO("taildir resumes from the committed position after a restart",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "l0\nl1\nl2\n");
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(3));
    append(log, "l3\nl4\n");
    // Read but never committed: as if the channel had not acked it.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (t.lines.size() < 5 && std::chrono::steady_clock::now() < deadline)
      t.poll_once();
    REQUIRE(t.lines.size() == 5);
  }
  append(log, "l5\n");
  tail_driver again{dir};
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(3));
  THEN("uncommitted lines are read again, committed ones are not") {
    CHECK(again.lines == numbered("l", 3, 6));
  }
}

SCENARIO("taildir resumes from its channel's progress token, past the "
         "position file",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "l0\nl1\nl2\n");
  std::string token;
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(3));
    append(log, "l3\nl4\n");
    // Read and kept by the channel, but the ack never reached the source:
    // the position file still says l3.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (t.lines.size() < 5 && std::chrono::steady_clock::now() < deadline)
      t.poll_once();
    REQUIRE(t.lines.size() == 5);
    token = t.src->progress();
  }
  append(log, "l5\n");
  tail_driver again{dir};
  REQUIRE(!again.src->resume(token));
  REQUIRE(!again.open());
  auto at_open = read_position_file(dir / "state/positions.json");
  REQUIRE(again.poll_until(1));
  THEN("nothing the channel holds is read again") {
    CHECK(again.lines == numbered("l", 5, 6));
  }
  AND_THEN("open brought the position file up to the token") {
    REQUIRE(at_open);
    REQUIRE(at_open->size() == 1);
    CHECK(at_open->front().pos == 15); // after "l4\n"
  }
}

SCENARIO("a removed position file starts over even when the channel holds "
         "progress",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "l0\nl1\n");
  std::string token;
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(2));
    token = t.src->progress();
  }
  fs::remove(dir / "state/positions.json");
  tail_driver again{dir};
  REQUIRE(!again.src->resume(token));
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(2));
  CHECK(again.lines == numbered("l", 0, 2));
}

SCENARIO("progress tokens round-trip any file name and reject damage",
         "[taildir]") {
  std::vector<file_position> in{
      {2049, 17, 4096, "/var/log/a b:c.log", "app", false, 0xdeadbeef, 256},
      {0, 18, 12, std::string{"odd\nname\0x", 11}, "", true, 0, 0}};
  uint64_t serial = 0;
  auto out = decode_positions(encode_positions(in, 42), &serial);
  REQUIRE(out);
  CHECK(serial == 42);
  REQUIRE(out->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK((*out)[i].dev == in[i].dev);
    CHECK((*out)[i].inode == in[i].inode);
    CHECK((*out)[i].pos == in[i].pos);
    CHECK((*out)[i].path == in[i].path);
    CHECK((*out)[i].group == in[i].group);
    CHECK((*out)[i].skipping == in[i].skipping);
    CHECK((*out)[i].fingerprint == in[i].fingerprint);
    CHECK((*out)[i].fp_len == in[i].fp_len);
  }
  THEN("a token from before fingerprints decodes, fingerprints unknown") {
    auto old = decode_positions("S3;2049 17 4096 0 3 5:appa.log", &serial);
    REQUIRE(old);
    REQUIRE(old->size() == 1);
    CHECK(serial == 3);
    CHECK(old->front().pos == 4096);
    CHECK(old->front().path == "a.log");
    CHECK(old->front().fp_len == 0);
  }
  THEN("a source following no file still has a token") {
    auto none = encode_positions({}, 7);
    CHECK(!none.empty());
    auto back = decode_positions(none, &serial);
    REQUIRE(back);
    CHECK(back->empty());
    CHECK(serial == 7);
  }
  THEN("damage is an error") {
    auto token = encode_positions(in, 42);
    auto cut = decode_positions(token.substr(0, token.size() - 2));
    REQUIRE(!cut);
    CHECK_THAT(describe(cut.error()), Catch::Contains("cut short"));
    CHECK(!decode_positions(""));
    CHECK(!decode_positions("S1;12 x 3 0 0 0:"));
    test::temp_dir dir;
    tail_driver t{dir};
    CHECK(t.src->resume("garbage"));
  }
}

SCENARIO("a position file newer than the channel's progress wins",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "keep 0\n");
  std::string token;
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(1));
    token = t.src->progress(); // what the channel holds
    // Later polls whose lines an interceptor dropped: sealed and committed
    // without reaching the channel.
    append(log, "drop 1\ndrop 2\n");
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (t.lines.size() < 3 && std::chrono::steady_clock::now() < deadline) {
      auto seq = t.poll_once();
      REQUIRE(!t.src->commit(seq));
    }
    REQUIRE(t.lines.size() == 3);
  }
  append(log, "keep 3\n");
  tail_driver again{dir};
  REQUIRE(!again.src->resume(token));
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(1));
  CHECK(again.lines == std::vector<std::string>{"keep 3"});
}

SCENARIO("skip_to_end applies to a first run only", "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  append(dir / "logs/old.log", "before 0\nbefore 1\n");
  options skip;
  skip.set("skip_to_end", true);
  {
    tail_driver t{dir, skip};
    REQUIRE(!t.open());
    append(dir / "logs/old.log", "after 0\n");
    REQUIRE(t.poll_until(1));
    CHECK(t.lines == std::vector<std::string>{"after 0"});
  }
  // A file that appeared while sluice was down is new: read from its start.
  append(dir / "logs/new.log", "new 0\nnew 1\n");
  tail_driver again{dir, skip};
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(2));
  CHECK(again.lines == numbered("new ", 0, 2));
}

SCENARIO("a position file records its serial, also when it follows nothing",
         "[taildir]") {
  test::temp_dir dir;
  auto path = dir / "p.json";
  REQUIRE(!write_position_file(path, {}, 9));
  uint64_t serial = 0;
  auto none = read_position_file(path, &serial);
  REQUIRE(none);
  CHECK(none->empty());
  CHECK(serial == 9);
  REQUIRE(!write_position_file(path, {{1, 2, 3, "/f", "", false}}, 10));
  auto one = read_position_file(path, &serial);
  REQUIRE(one);
  CHECK(one->size() == 1);
  CHECK(serial == 10);
}

SCENARIO("taildir keeps up with a file that grows while it reads",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  constexpr int total = 20'000;
  tail_driver t{dir};
  REQUIRE(!t.open());
  std::thread writer{[&] {
    std::ofstream out{log, std::ios::app};
    for (int i = 0; i < total; ++i) {
      out << "g" << i << '\n';
      if (i % 500 == 0) {
        out.flush();
        std::this_thread::sleep_for(1ms);
      }
    }
  }};
  bool done = t.poll_until(total, 30s);
  writer.join();
  REQUIRE(done);
  CHECK(t.lines == numbered("g", 0, total));
}

SCENARIO("taildir follows every file of a glob", "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  append(dir / "logs/x.log", "x0\nx1\n");
  append(dir / "logs/y.log", "y0\ny1\n");
  append(dir / "logs/skip.txt", "nope\n");
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(4));
  std::vector<std::string> xs, ys;
  for (size_t i = 0; i < t.lines.size(); ++i) {
    auto& target = t.lines[i][0] == 'x' ? xs : ys;
    target.push_back(t.lines[i]);
    CHECK(fs::path{t.files[i]}.filename().string()[0] == t.lines[i][0]);
  }
  CHECK(xs == numbered("x", 0, 2));
  CHECK(ys == numbered("y", 0, 2));
}

SCENARIO("a damaged position file is an error naming it", "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "state");
  append(dir / "state/positions.json", "[{\"inode\": 12, \"pos\": ");
  tail_driver t{dir};
  auto err = t.open();
  REQUIRE(err);
  CHECK_THAT(describe(err), Catch::Contains((dir / "state/positions.json")));
}

SCENARIO("a position file round-trips and rejects entries of the wrong "
         "type",
         "[taildir]") {
  test::temp_dir dir;
  auto path = dir / "positions.json";
  GIVEN("positions with every field") {
    std::vector<file_position> ps(2);
    ps[0] = {7, 42, 1000, "/logs/a \"quoted\".log", "logs", false};
    ps[1] = {7, 43, 5, "/logs/b.log", "", true};
    REQUIRE(!write_position_file(path, ps));
    auto back = read_position_file(path);
    REQUIRE(back);
    REQUIRE(back->size() == 2);
    CHECK((*back)[0].inode == 42);
    CHECK((*back)[0].pos == 1000);
    CHECK((*back)[0].path == ps[0].path);
    CHECK((*back)[0].group == "logs");
    CHECK((*back)[1].dev == 7);
    CHECK((*back)[1].skipping);
    CHECK(!fs::exists(path + ".tmp"));
  }
  GIVEN("a negative position") {
    append(path, R"([{"inode": 1, "pos": -3}])");
    auto back = read_position_file(path);
    REQUIRE(!back);
    CHECK_THAT(describe(back.error()),
               Catch::Contains("entry 0") && Catch::Contains("'pos'"));
  }
  GIVEN("an entry without an inode") {
    append(path, R"([{"pos": 3}])");
    auto back = read_position_file(path);
    REQUIRE(!back);
    CHECK_THAT(describe(back.error()), Catch::Contains("lacks 'inode'"));
  }
  GIVEN("no file at all") {
    auto back = read_position_file(path);
    REQUIRE(back);
    CHECK(back->empty());
  }
}

SCENARIO("taildir cuts lines longer than max_line_length", "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  append(dir / "logs/app.log", "short\n" + std::string(100, 'z') + "\nafter\n");
  options opts;
  opts.set("max_line_length", int64_t{16});
  tail_driver t{dir, opts};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(3));
  CHECK(t.lines ==
        std::vector<std::string>{"short", std::string(16, 'z'), "after"});
  CHECK(t.ctx.metrics->errors.load() == 1);
}

SCENARIO("taildir reads the tail of a file rotated away while it was stopped",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  append(log, "r0\nr1\n");
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(2));
    t.src->close();
  }
  // While stopped: more lines, a rotation by rename, a new file.
  append(log, "r2\nr3\n");
  fs::rename(log, dir / "logs/app.log.1");
  append(log, "s0\n");
  tail_driver again{dir};
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(3));
  std::sort(again.lines.begin(), again.lines.end());
  CHECK(again.lines == std::vector<std::string>{"r2", "r3", "s0"});
}

SCENARIO("a crash after committing only the oldest of several sealed batches "
         "reads every later line again from the position file alone",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log = dir / "logs/app.log";
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    // Three batches, each sealed with its own two lines.
    std::vector<uint64_t> ends; // the seq of the batch that ends each pair
    for (int b = 0; b < 3; ++b) {
      auto n = std::to_string(b);
      append(log, "b" + n + "-0\nb" + n + "-1\n");
      auto want = static_cast<size_t>(2 * (b + 1));
      auto deadline = std::chrono::steady_clock::now() + 5s;
      uint64_t seq = 0;
      while (t.lines.size() < want &&
             std::chrono::steady_clock::now() < deadline)
        seq = t.poll_once();
      REQUIRE(t.lines.size() == want);
      ends.push_back(seq);
    }
    // The channel acknowledged only the batch ending with b0-1.
    REQUIRE(!t.src->commit(ends[0]));
    REQUIRE(t.state().sealed.size() >= 2); // the later ones wait
    auto on_disk = read_position_file(dir / "state/positions.json");
    REQUIRE(on_disk);
    REQUIRE(on_disk->size() == 1);
    CHECK(on_disk->front().pos == 10); // after "b0-1\n"
    // A crash: the source goes away without committing the rest, and no
    // channel token is offered on restart.
  }
  tail_driver again{dir};
  REQUIRE(!again.open());
  REQUIRE(again.poll_until(4));
  THEN("every line after the committed batch is read again, once") {
    CHECK(again.lines ==
          std::vector<std::string>{"b1-0", "b1-1", "b2-0", "b2-1"});
  }
}

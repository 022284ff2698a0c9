#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/archive_sink.hpp"
#include "connectors/registry.hpp"
#include "tests/connectors/archive_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace fs = std::filesystem;

SCENARIO("the archive writes JSON lines into hourly zstd partitions",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = tmp / "archive";
  GIVEN("batches with timestamps across two hours and two days") {
    std::shared_ptr<component_metrics> metrics;
    auto sink = make_archive(dir, {}, "orders", &metrics);
    REQUIRE(!sink->open());
    auto late = utc_ms(2026, 12, 3, 23, 40);
    auto midnight = utc_ms(2026, 12, 4, 0, 5);
    auto one = utc_ms(2026, 12, 4, 1, 59);
    event_batch b1;
    add_event(b1, "a", late);
    add_event(b1, "b", late + 1000);
    add_event(b1, "c", midnight);
    event_batch b2;
    add_event(b2, "d", midnight + 60'000);
    add_event(b2, "e", one);
    REQUIRE(!sink->write(b1));
    REQUIRE(!sink->flush());
    REQUIRE(!sink->write(b2));
    REQUIRE(!sink->flush());
    sink->close();
    THEN("each partition holds one file with exactly its lines") {
      auto root = fs::path{dir} / "orders";
      auto l = list_archive(root);
      CHECK(l.in_progress.empty());
      REQUIRE(l.finals.size() == 3);
      std::map<std::string, std::string> by_partition;
      for (auto& f : l.finals) {
        auto name = f.filename().string();
        CHECK(name.starts_with("part-"));
        CHECK(name.ends_with(".jsonl.zst"));
        auto d = decompress_file(root / f);
        CHECK(d.complete);
        by_partition[f.parent_path().string()] = d.text;
      }
      CHECK(by_partition["dt=2026-12-03/hour=23"] ==
            expected_line("a", late) + expected_line("b", late + 1000));
      CHECK(by_partition["dt=2026-12-04/hour=00"] ==
            expected_line("c", midnight) +
                expected_line("d", midnight + 60'000));
      CHECK(by_partition["dt=2026-12-04/hour=01"] == expected_line("e", one));
      CHECK(as_archive(sink).files_finished() == 3);
      CHECK(metrics->files_finished.load() == 3);
    }
  }
  GIVEN("an event without a timestamp and one with a bad one") {
    auto sink = make_archive(dir, {}, "logs");
    REQUIRE(!sink->open());
    event_batch b;
    b.append("plain");
    b.add_header("host", "h1");
    b.append("bad");
    b.add_header("timestamp", "12x");
    b.append("far");
    b.add_header("timestamp", "99999999999999999");
    auto before = now_ms();
    REQUIRE(!sink->write(b));
    auto after = now_ms();
    sink->close();
    THEN("they land in the hour the sink received them, with that time") {
      auto root = fs::path{dir} / "logs";
      auto l = list_archive(root);
      REQUIRE(!l.finals.empty());
      auto text = archive_text(root);
      CHECK(bodies_of(text) == std::vector<std::string>{"plain", "bad", "far"});
      size_t pos = 0;
      for (auto& f : l.finals) {
        auto d = decompress_file(root / f);
        while (!d.text.empty()) {
          auto nl = d.text.find('\n');
          REQUIRE(nl != std::string::npos);
          auto j = nlohmann::json::parse(d.text.substr(0, nl));
          d.text.erase(0, nl + 1);
          auto ts = j.at("ts").get<int64_t>();
          CHECK(ts >= before);
          CHECK(ts <= after);
          CHECK(f.parent_path().string() == archive_partition(ts / 3'600'000));
          if (pos++ == 0)
            CHECK(j.at("headers") == nlohmann::json{{"host", "h1"}});
        }
      }
      CHECK(pos == 3);
    }
  }
  GIVEN("hours around the epoch") {
    CHECK(archive_partition(-1) == "dt=1969-12-31/hour=23");
    CHECK(archive_partition(0) == "dt=1970-01-01/hour=00");
  }
}

SCENARIO("the archive rolls files by compressed size and by time",
         "[archive]") {
  test::temp_dir tmp;
  auto dir = tmp / "archive";
  auto root = fs::path{dir} / "orders";
  std::mt19937_64 rng{42};
  auto ts = utc_ms(2026, 12, 4, 10, 0);
  GIVEN("roll_size 4 KiB and batches of about 1 KiB flushed one by one") {
    options o;
    o.set("roll_size", int64_t{4096});
    auto sink = make_archive(dir, o);
    REQUIRE(!sink->open());
    std::vector<std::string> bodies;
    std::string expected;
    for (int i = 0; i < 40; ++i) {
      event_batch b;
      for (int j = 0; j < 4; ++j) {
        bodies.push_back(fmt::format("{}-{}-{}", i, j, noise(rng, 250)));
        add_event(b, bodies.back(), ts);
        expected += expected_line(bodies.back(), ts);
      }
      REQUIRE(!sink->write(b));
      REQUIRE(!sink->flush());
    }
    sink->close();
    THEN("several files, none much past the size, hold every line in order") {
      auto l = list_archive(root);
      CHECK(l.in_progress.empty());
      CHECK(l.finals.size() >= 8);
      for (size_t i = 0; i < l.finals.size(); ++i) {
        auto size = fs::file_size(root / l.finals[i]);
        if (i + 1 < l.finals.size()) // the last one ended at close
          CHECK(size >= 4096);
        CHECK(size < 4096 + 2048); // one more flushed frame at most
      }
      CHECK(archive_text(root) == expected);
      CHECK(as_archive(sink).files_finished() == l.finals.size());
    }
  }
  GIVEN("roll_interval 300 ms") {
    options o;
    o.set("roll_interval", int64_t{300});
    auto sink = make_archive(dir, o);
    REQUIRE(!sink->open());
    event_batch b;
    add_event(b, "first", ts);
    auto written = std::chrono::steady_clock::now();
    REQUIRE(!sink->write(b));
    REQUIRE(!sink->flush());
    REQUIRE(!sink->tick());
    if (std::chrono::steady_clock::now() - written < 300ms)
      CHECK(list_archive(root).finals.empty());
    WHEN("ticks go on past the interval") {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (list_archive(root).finals.empty() &&
             std::chrono::steady_clock::now() < deadline) {
        REQUIRE(!sink->tick());
        std::this_thread::sleep_for(20ms);
      }
      THEN("the file is finished no earlier than the interval") {
        CHECK(std::chrono::steady_clock::now() - written >= 300ms);
        auto l = list_archive(root);
        REQUIRE(l.finals.size() == 1);
        CHECK(l.in_progress.empty());
        CHECK(archive_text(root) == expected_line("first", ts));
        AND_WHEN("more is written") {
          event_batch b2;
          add_event(b2, "second", ts);
          REQUIRE(!sink->write(b2));
          sink->close();
          THEN("it goes to a second file") {
            auto l2 = list_archive(root);
            REQUIRE(l2.finals.size() == 2);
            CHECK(archive_text(root) ==
                  expected_line("first", ts) + expected_line("second", ts));
          }
        }
      }
    }
    sink->close();
  }
}

SCENARIO("the archive escapes bodies and headers as JSON", "[archive]") {
  GIVEN("quotes, backslashes, control characters and UTF-8") {
    auto esc = [](std::string_view s) {
      std::string out;
      append_json_string(s, out);
      return out;
    };
    CHECK(esc("plain") == "\"plain\"");
    CHECK(esc("a\"b\\c") == R"("a\"b\\c")");
    CHECK(esc("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(esc(std::string_view{"\x00\x01\x1f", 3}) ==
          R"("\u0000\u0001\u001f")");
    CHECK(esc("\x7f") == "\"\x7f\"");
    // Valid UTF-8 stays as it is: 2, 3 and 4 bytes, U+FFFF, U+10FFFF.
    CHECK(esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") ==
          "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
    CHECK(esc("\xef\xbf\xbf\xf4\x8f\xbf\xbf") ==
          "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");
    // Invalid: each byte escaped.
    CHECK(esc("\xff") == R"("\u00ff")");
    CHECK(esc("a\x80z") == R"("a\u0080z")");
    CHECK(esc("\xc0\xaf") == R"("\u00c0\u00af")");           // overlong
    CHECK(esc("\xe2\x82") == R"("\u00e2\u0082")");           // truncated
    CHECK(esc("\xe2\x82x") == R"("\u00e2\u0082x")");         // cut short
    CHECK(esc("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")"); // surrogate
    CHECK(esc("\xf4\x90\x80\x80") ==
          R"("\u00f4\u0090\u0080\u0080")");                  // past U+10FFFF
    CHECK(esc("\xe0\x80\xaf") == R"("\u00e0\u0080\u00af")"); // overlong
  }
  GIVEN("an archive sink and an event full of awkward bytes") {
    test::temp_dir tmp;
    auto dir = tmp / "archive";
    auto sink = make_archive(dir);
    REQUIRE(!sink->open());
    std::string body = "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xff\xfe end";
    event_batch b;
    b.append(body);
    b.add_header("timestamp", "1764892800000");
    b.add_header("k\"ey", "v\\al\x02");
    REQUIRE(!sink->write(b));
    sink->close();
    THEN("the line is valid JSON and gives the bytes back") {
      auto text = archive_text(fs::path{dir} / "orders");
      REQUIRE(!text.empty());
      CHECK(text.back() == '\n');
      CHECK(std::count(text.begin(), text.end(), '\n') == 1);
      auto j = nlohmann::json::parse(text.substr(0, text.size() - 1));
      CHECK(j.at("ts") == 1764892800000);
      CHECK(j.at("headers").at("k\"ey") == "v\\al\x02");
      CHECK(j.at("headers").at("timestamp") == "1764892800000");
      // Valid UTF-8 is copied; each invalid byte is an escape that reads
      // back as U+00XX.
      CHECK(text.find("\xc3\xa9 bad\\u00ff\\u00fe end") != std::string::npos);
      CHECK(j.at("body") ==
            "q\"b\\n\nt\tc\x01 \xc3\xa9 bad\xc3\xbf\xc3\xbe end");
    }
  }
}

SCENARIO("the archive sink type checks its options and probes its directory",
         "[archive]") {
  test::temp_dir tmp;
  GIVEN("the builtin registry") {
    auto r = connector_registry::builtin();
    REQUIRE(r.find_sink("archive") != nullptr);
    auto make = [&](options o, const std::string& name = "events") {
      o.set("directory", tmp / "a");
      return test::make_sink(*r.find_sink("archive"),
                             test::make_context(name, "sink"), o);
    };
    THEN("the topic is the component's name by default") {
      auto c = make({});
      REQUIRE(c);
      CHECK(as_archive(*c).root() == fs::path{tmp / "a"} / "events");
    }
    THEN("a topic or prefix that is not a plain name is refused") {
      options o;
      o.set("topic", std::string{"a/b"});
      CHECK(!make(o));
      options p;
      p.set("prefix", std::string{".hidden"});
      CHECK(!make(p));
    }
  }
  GIVEN("an open sink") {
    auto sink = make_archive(tmp / "b");
    REQUIRE(!sink->open());
    CHECK(!sink->probe());
    WHEN("its directory is replaced by a file") {
      fs::remove_all(fs::path{tmp / "b"} / "orders");
      std::ofstream{fs::path{tmp / "b"} / "orders"} << "x";
      THEN("the probe fails") {
        CHECK(sink->probe());
      }
    }
    sink->close();
  }
}

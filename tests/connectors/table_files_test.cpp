#include "connectors/table_files.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "tests/connectors/table_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace sluice::columnar;
using sluice::test::rows_text;

namespace {

schema_ptr wide_schema() {
  return make_schema({{"id", int32_type()},
                      {"name", string_type()},
                      {"price", decimal_type(10, 2)},
                      {"ok", boolean_type()},
                      {"ts", timestamp_type()},
                      {"big", int64_type()},
                      {"d", float64_type()}});
}

/// Rows with every awkward value: delimiters, quotes and line breaks in
/// strings, empty strings, NULLs of every type.
row_batch wide_rows() {
  row_batch b{wide_schema()};
  auto row = [&](int32_t id, std::optional<std::string> name, int128 price,
                 bool ok, int64_t ts, int64_t big, double d) {
    b.col(0).push(id);
    if (name)
      b.col(1).push_str(*name);
    else
      b.col(1).push_null();
    b.col(2).push(price);
    b.col(3).push<uint8_t>(ok);
    b.col(4).push(ts);
    b.col(5).push(big);
    b.col(6).push(d);
  };
  row(1, "plain", 1234, true, 1796378400000, 1, 0.5);
  row(2, "semi;colon", -5, false, 1796378400123, -9000000000, 1e300);
  row(3, "it's 'quoted'", 0, true, 0, 0, -2.25);
  row(4, "two\nlines", 99, false, 1, 2, 3.0);
  row(5, "", 1, true, 2, 3, 4.0);
  row(6, std::nullopt, 2, false, 3, 4, 5.0);
  // A row of NULLs but the id.
  b.col(0).push(int32_t{7});
  for (size_t c = 1; c < b.num_columns(); ++c)
    b.col(c).push_null();
  return b;
}

std::map<std::string, std::string>
with(std::string path, std::string format,
     std::map<std::string, std::string> more = {}) {
  more["path"] = std::move(path);
  more["format"] = std::move(format);
  return more;
}

test::table_drain
read_all(const std::string& table, schema_ptr schema,
         const std::map<std::string, std::string>& w,
         std::shared_ptr<component_metrics>* metrics = nullptr,
         std::string dead_letter = {}) {
  auto ctx = test::make_table_context(table, schema);
  ctx.dead_letter_path = std::move(dead_letter);
  if (metrics)
    *metrics = ctx.metrics;
  auto src = test::make_table_source("filesystem", ctx, w);
  REQUIRE(!src->open());
  auto d = test::drain_table(*src, schema, 3);
  src->close();
  return d;
}

void write_all(const std::string& table, const row_batch& rows,
               const std::map<std::string, std::string>& w) {
  auto ctx = test::make_table_context(table, rows.row_schema());
  auto sink = test::make_table_sink("filesystem", ctx, w);
  REQUIRE(!sink->open());
  REQUIRE(!sink->write(rows));
  REQUIRE(!sink->flush());
  sink->close();
}

} // namespace

SCENARIO("CSV rows round-trip through the filesystem sink and source",
         "[table_files][csv]") {
  test::temp_dir tmp;
  auto rows = wide_rows();
  GIVEN("';' as delimiter and \"'\" as quote") {
    auto w = with(tmp / "out.csv", "csv",
                  {{"csv.field-delimiter", ";"}, {"csv.quote-character", "'"}});
    write_all("t", rows, w);
    THEN("the file quotes what needs it") {
      auto text = test::read_file(tmp / "out.csv");
      CHECK(text == "1;plain;12.34;true;2026-12-04 10:00:00.000;1;0.5\n"
                    "2;'semi;colon';-0.05;false;2026-12-04 10:00:00.123;"
                    "-9000000000;1e+300\n"
                    "3;'it''s ''quoted''';0.00;true;1970-01-01 00:00:00.000;0;"
                    "-2.25\n"
                    "4;'two\nlines';0.99;false;1970-01-01 00:00:00.001;2;3.0\n"
                    "5;'';0.01;true;1970-01-01 00:00:00.002;3;4.0\n"
                    "6;;0.02;false;1970-01-01 00:00:00.003;4;5.0\n"
                    "7;;;;;;\n");
    }
    AND_THEN("reading it back gives the rows, a NULL string as ''") {
      auto d = read_all("t", wide_schema(), w);
      CHECK(d.finished);
      auto expected = rows_text(rows);
      expected[5] = "6||0.02|false|1970-01-01 00:00:00.003|4|5.0";
      expected[6] = "7||NULL|NULL|NULL|NULL|NULL";
      CHECK(rows_text(d.rows) == expected);
      CHECK(d.rows.col(1).valid(5));
      CHECK_FALSE(d.rows.col(2).valid(6));
    }
  }
  GIVEN("a null literal") {
    auto w = with(tmp / "out.csv", "csv", {{"csv.null-literal", "N/A"}});
    auto b = wide_rows();
    // A string that equals the literal must stay a string.
    row_batch extra{wide_schema()};
    extra.col(0).push(int32_t{8});
    extra.col(1).push_str("N/A");
    for (size_t c = 2; c < extra.num_columns(); ++c)
      extra.col(c).push_null();
    b.append_active(extra);
    write_all("t", b, w);
    THEN("every NULL and every string reads back exactly") {
      auto d = read_all("t", wide_schema(), w);
      CHECK(rows_text(d.rows) == rows_text(b));
      CHECK_FALSE(d.rows.col(1).valid(5));
      CHECK(d.rows.col(1).str(7) == "N/A");
      auto text = test::read_file(tmp / "out.csv");
      CHECK(text.find("\n8,\"N/A\",N/A,N/A,N/A,N/A,N/A\n") !=
            std::string::npos);
    }
  }
}

SCENARIO("the CSV reader takes what other programs write",
         "[table_files][csv]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"id", int64_type()},
                             {"name", string_type()},
                             {"ts", timestamp_type()},
                             {"amount", decimal_type(5, 1)}});
  test::write_text(tmp / "in.csv",
                   "\xEF\xBB\xBF"
                   "1,\"a, b\",2026-12-04T10:00:00Z,1.25\r\n"
                   "\r\n"
                   "2,\"line\none\",2026-12-04 10:00,-3\r\n"
                   "3, spaced ,2026-12-04 10:00:00.5,\n"
                   "4,\"\"\"\",2026-12-04T10:00:01.123456,0.04");
  auto d = read_all("t", schema, with(tmp / "in.csv", "csv"));
  CHECK(d.finished);
  CHECK(rows_text(d.rows) == std::vector<std::string>{
                                 "1|a, b|2026-12-04 10:00:00.000|1.3",
                                 "2|line\none|2026-12-04 10:00:00.000|-3.0",
                                 "3| spaced |2026-12-04 10:00:00.500|NULL",
                                 "4|\"|2026-12-04 10:00:01.123|0.0",
                             });
}

SCENARIO("JSON lines round-trip and read other writers' objects",
         "[table_files][json]") {
  test::temp_dir tmp;
  GIVEN("the awkward rows written as JSON lines") {
    auto rows = wide_rows();
    auto w = with(tmp / "out.json", "json");
    write_all("t", rows, w);
    THEN("each row is one object and reads back exactly (NULLs too)") {
      auto text = test::read_file(tmp / "out.json");
      CHECK(text.find("{\"id\":4,\"name\":\"two\\nlines\",\"price\":0.99,"
                      "\"ok\":false,\"ts\":\"1970-01-01 00:00:00.001\","
                      "\"big\":2,\"d\":3.0}\n") != std::string::npos);
      CHECK(text.find("{\"id\":7,\"name\":null,\"price\":null,\"ok\":null,"
                      "\"ts\":null,\"big\":null,\"d\":null}\n") !=
            std::string::npos);
      auto d = read_all("t", wide_schema(), w);
      CHECK(d.finished);
      CHECK(rows_text(d.rows) == rows_text(rows));
      CHECK_FALSE(d.rows.col(1).valid(5));
    }
  }
  GIVEN("objects with missing, unknown, nested and escaped fields") {
    auto schema = make_schema({{"id", int64_type()},
                               {"name", string_type()},
                               {"meta", string_type()},
                               {"ok", boolean_type()}});
    test::write_text(tmp / "in.json",
                     "{\"id\": 1, \"name\": \"caf\\u00e9 \\ud83d\\ude00\", "
                     "\"ok\": true}\n"
                     "  {\"ok\":false,\"other\":{\"x\":[1,2,{\"y\":null}]},"
                     "\"id\":\"2\",\"meta\":{\"a\": [1, \"b\"]}}\n"
                     "\n"
                     "{\"id\":3,\"name\":null}");
    auto d = read_all("t", schema, with(tmp / "in.json", "json"));
    CHECK(d.finished);
    CHECK(rows_text(d.rows) == std::vector<std::string>{
                                   "1|caf\xc3\xa9 \xf0\x9f\x98\x80|NULL|true",
                                   "2|NULL|{\"a\": [1, \"b\"]}|false",
                                   "3|NULL|NULL|NULL",
                               });
  }
}

SCENARIO("rows that do not parse go to the dead-letter file and the source "
         "goes on",
         "[table_files][dead_letter][csv][json]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"id", int32_type()},
                             {"name", string_type()},
                             {"n", int32_type(false)}});
  GIVEN("a CSV file with bad rows after a record of two lines") {
    test::write_text(tmp / "in.csv", "1,\"a\nb\",10\n"
                                     "2,b,x\n"
                                     "3,c\n"
                                     "4,d,40\n"
                                     "5,e,\n"
                                     "6,\"open,60\n");
    std::shared_ptr<component_metrics> metrics;
    auto dl = tmp / "t.dead-letter";
    auto d = read_all("t", schema, with(tmp / "in.csv", "csv"), &metrics, dl);
    THEN("the good rows are read and each bad one is one dead-letter line") {
      CHECK(d.finished);
      CHECK(rows_text(d.rows) ==
            std::vector<std::string>{"1|a\nb|10", "4|d|40"});
      CHECK(metrics->errors.load() == 4);
      auto file = tmp / "in.csv";
      CHECK(test::read_file(dl) ==
            file + ":3: column 'n': 'x' is not a valid INT: 2,b,x\n" + file +
                ":4: expected 3 fields, got 2: 3,c\n" + file +
                ":6: NULL in NOT NULL column 'n': 5,e,\n" + file +
                ":7: field 2 has no closing quote: 6,\"open,60\n");
    }
  }
  GIVEN("a JSON-lines file with a bad line") {
    test::write_text(tmp / "in.json", "{\"id\":1,\"name\":\"a\",\"n\":1}\n"
                                      "{\"id\":2,\"name\":\"b\",\"n\":1\n"
                                      "{\"id\":3,\"name\":\"c\",\"n\":3}\n");
    std::shared_ptr<component_metrics> metrics;
    auto dl = tmp / "j.dead-letter";
    auto d = read_all("j", schema, with(tmp / "in.json", "json"), &metrics, dl);
    THEN("the other lines are read") {
      CHECK(rows_text(d.rows) == std::vector<std::string>{"1|a|1", "3|c|3"});
      CHECK(metrics->errors.load() == 1);
      CHECK(test::read_file(dl) ==
            tmp / "in.json" +
                ":2: invalid JSON at column 25: expected ',' or '}': "
                "{\"id\":2,\"name\":\"b\",\"n\":1\n");
    }
  }
  GIVEN("a clean file") {
    test::write_text(tmp / "ok.csv", "1,a,1\n");
    auto dl = tmp / "clean.dead-letter";
    auto d = read_all("c", schema, with(tmp / "ok.csv", "csv"), nullptr, dl);
    THEN("no dead-letter file is created") {
      CHECK(d.rows.num_rows() == 1);
      CHECK_FALSE(std::filesystem::exists(dl));
    }
  }
  GIVEN("a table with the option 'dead-letter.path'") {
    test::write_text(tmp / "opt.csv", "1,a,1\n2,b,x\n");
    auto dl = tmp / "elsewhere.dead-letter";
    auto d = read_all("o", schema,
                      with(tmp / "opt.csv", "csv", {{"dead-letter.path", dl}}));
    THEN("its bad rows go to that file") {
      CHECK(d.rows.num_rows() == 1);
      CHECK(test::read_file(dl) ==
            tmp / "opt.csv" +
                ":2: column 'n': 'x' is not a valid INT: 2,b,x\n");
      CHECK_FALSE(std::filesystem::exists("o.dead-letter"));
    }
  }
}

SCENARIO("a directory of files is one split per file", "[table_files][csv]") {
  test::temp_dir tmp;
  auto dir = tmp / "in";
  std::filesystem::create_directories(dir);
  test::write_text(dir + "/b.csv", "2,b\n3,b\n");
  test::write_text(dir + "/a.csv", "1,a\n");
  test::write_text(dir + "/c.csv", "4,c\n5,c\n6,c\n");
  test::write_text(dir + "/.hidden.csv", "99,hidden\n");
  test::write_text(dir + "/_SUCCESS", "");
  auto schema = make_schema({{"id", int32_type()}, {"f", string_type()}});
  auto w = with(dir, "csv");
  GIVEN("one instance") {
    auto d = read_all("t", schema, w);
    THEN("it reads every file in name order") {
      CHECK(rows_text(d.rows) ==
            std::vector<std::string>{"1|a", "2|b", "3|b", "4|c", "5|c", "6|c"});
    }
  }
  GIVEN("three instances") {
    std::vector<std::vector<std::string>> got;
    for (uint32_t split = 0; split < 3; ++split) {
      auto ctx = test::make_table_context("t", schema, split, 3);
      auto src = test::make_table_source("filesystem", ctx, w);
      CHECK(src->max_splits() == 3);
      REQUIRE(!src->open());
      auto d = test::drain_table(*src, schema, 2);
      CHECK(d.finished);
      got.push_back(rows_text(d.rows));
    }
    THEN("each reads its own file") {
      CHECK(got[0] == std::vector<std::string>{"1|a"});
      CHECK(got[1] == std::vector<std::string>{"2|b", "3|b"});
      CHECK(got[2] == std::vector<std::string>{"4|c", "5|c", "6|c"});
    }
  }
}

SCENARIO("the filesystem sink refuses updates and the source a missing path",
         "[table_files]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"id", int32_type()}});
  row_batch b{schema};
  b.col(0).push(int32_t{1});
  b.col(0).push(int32_t{2});
  b.set_kind(1, row_kind::update_after);
  auto ctx = test::make_table_context("out", schema);
  auto sink =
      test::make_table_sink("filesystem", ctx, with(tmp / "o.csv", "csv"));
  REQUIRE(!sink->open());
  auto err = sink->write(b);
  REQUIRE(err);
  CHECK(describe(err).find("inserts only, got a +U row") != std::string::npos);
  auto reg = table_registry::builtin();
  auto* type = reg.find_source("filesystem");
  auto opts = options_from_strings(type->options, with(tmp / "missing", "csv"));
  REQUIRE(opts);
  auto src = type->make(ctx, *opts);
  REQUIRE_FALSE(src);
  CHECK(describe(src.error()).find("missing") != std::string::npos);
  CHECK(is_permanent(src.error()));
  auto bad = options_from_strings(
      type->options,
      with(tmp / "o.csv", "csv", {{"csv.field-delimiter", ";;"}}));
  REQUIRE(bad);
  CHECK_FALSE(type->make(ctx, *bad));
}

SCENARIO("a CSV record of many quoted fields keeps each field's text",
         "[table_files][csv]") {
  std::vector<field> fields;
  std::string record;
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    fields.push_back({"c" + std::to_string(i), string_type()});
    auto text = std::string(size_t(i % 20), char('a' + i % 26)) + ",";
    record += (i > 0 ? ",\"" : "\"") + text + "\"";
    expected.push_back(text);
  }
  auto schema = make_schema(std::move(fields));
  row_batch out{schema};
  decode_scratch scratch; // fresh: its buffers grow during the record
  table_format fmt;
  REQUIRE(!csv_decode_row(record, fmt, out, scratch));
  REQUIRE(out.num_rows() == 1);
  for (size_t c = 0; c < expected.size(); ++c)
    CHECK(out.col(c).str(0) == expected[c]);
}

SCENARIO("the dead-letter file appends, one line per entry", "[dead_letter]") {
  test::temp_dir tmp;
  CHECK(dead_letter_path("", "bids") == "bids.dead-letter");
  CHECK(dead_letter_path(tmp / "x.bad", "bids") == tmp / "x.bad");
  auto path = tmp / "t.dead-letter";
  {
    dead_letter dl{path};
    CHECK_FALSE(std::filesystem::exists(path));
    REQUIRE(!dl.add("in.csv", 3, "too short", "1,2"));
    REQUIRE(!dl.close());
  }
  dead_letter dl{path};
  REQUIRE(!dl.add("in.csv", 9, "bad", "a\r\nb"));
  CHECK(dl.count() == 1);
  REQUIRE(!dl.close());
  CHECK(test::read_file(path) ==
        "in.csv:3: too short: 1,2\nin.csv:9: bad: a\\r\\nb\n");
  dead_letter nowhere{tmp / "no/such/dir/x"};
  auto err = nowhere.add("in.csv", 1, "bad", "x");
  REQUIRE(err);
  CHECK(describe(err).find("cannot open dead-letter file") !=
        std::string::npos);
}

SCENARIO("records cross the source's read chunks intact",
         "[table_files][csv]") {
  test::temp_dir tmp;
  // About 4 MiB: records straddle every 1 MiB read, some inside quotes.
  constexpr int64_t n = 120000;
  std::string text;
  for (int64_t i = 0; i < n; ++i)
    text += std::to_string(i) + ",\"row " + std::to_string(i) +
            "\nsecond, line\"," + std::to_string(i * 2) + "\r\n";
  test::write_text(tmp / "big.csv", text);
  auto schema = make_schema(
      {{"id", int64_type()}, {"s", string_type()}, {"v", int64_type()}});
  auto ctx = test::make_table_context("big", schema);
  auto src =
      test::make_table_source("filesystem", ctx, with(tmp / "big.csv", "csv"));
  REQUIRE(!src->open());
  auto d = test::drain_table(*src, schema, 4096);
  REQUIRE(d.finished);
  REQUIRE(d.rows.num_rows() == size_t{n});
  size_t wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto row = static_cast<size_t>(i);
    wrong += d.rows.col(0).value<int64_t>(row) != i ||
             d.rows.col(1).str(row) !=
                 "row " + std::to_string(i) + "\nsecond, line" ||
             d.rows.col(2).value<int64_t>(row) != i * 2;
  }
  CHECK(wrong == 0);
  CHECK(ctx.metrics->errors.load() == 0);
  CHECK(ctx.metrics->bytes_in.load() == text.size());
}

SCENARIO("sink instances write part files a directory source reads back",
         "[table_files][json]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"id", int32_type()}, {"name", string_type()}});
  auto dir = tmp / "out/";
  for (uint32_t split = 0; split < 2; ++split) {
    row_batch b{schema};
    for (int32_t i = 0; i < 3; ++i) {
      b.col(0).push(int32_t(split * 10 + i));
      b.col(1).push_str("s" + std::to_string(split));
    }
    auto ctx = test::make_table_context("out", schema, split, 2);
    auto sink = test::make_table_sink("filesystem", ctx, with(dir, "json"));
    REQUIRE(!sink->open());
    auto* fs = dynamic_cast<filesystem_sink*>(sink.get());
    REQUIRE(fs != nullptr);
    CHECK(fs->file() == dir + "part-" + std::to_string(split) + ".json");
    REQUIRE(!sink->write(b));
    REQUIRE(!sink->tick());
    sink->close();
  }
  auto ctx = test::make_table_context("in", schema);
  auto src = test::make_table_source("filesystem", ctx, with(dir, "json"));
  CHECK(src->max_splits() == 2);
  REQUIRE(!src->open());
  auto d = test::drain_table(*src, schema);
  CHECK(d.finished);
  CHECK(rows_text(d.rows) == std::vector<std::string>{"0|s0", "1|s0", "2|s0",
                                                      "10|s1", "11|s1",
                                                      "12|s1"});
}

SCENARIO("Flink's comment, missing-field and timestamp-format options",
         "[table_files][csv][json]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"id", int32_type()}, {"ts", timestamp_type()}});
  GIVEN("CSV with comment lines") {
    test::write_text(tmp / "c.csv", "# a comment\n1,2026-12-04 10:00:00\n"
                                    "#2,not read\n");
    std::shared_ptr<component_metrics> metrics;
    auto d =
        read_all("c", schema,
                 with(tmp / "c.csv", "csv", {{"csv.allow-comments", "true"}}),
                 &metrics, tmp / "c.dead-letter");
    CHECK(rows_text(d.rows) ==
          std::vector<std::string>{"1|2026-12-04 10:00:00.000"});
    CHECK(metrics->errors.load() == 0);
    AND_WHEN("comments are not allowed") {
      auto d2 = read_all("c", schema, with(tmp / "c.csv", "csv"), &metrics,
                         tmp / "c.dead-letter");
      CHECK(d2.rows.num_rows() == 1);
      CHECK(metrics->errors.load() == 2);
    }
  }
  GIVEN("JSON lines with a missing field") {
    test::write_text(tmp / "m.json", "{\"id\":1}\n{\"id\":2,\"ts\":null}\n");
    std::shared_ptr<component_metrics> metrics;
    auto dl = tmp / "m.dead-letter";
    auto d = read_all(
        "m", schema,
        with(tmp / "m.json", "json", {{"json.fail-on-missing-field", "true"}}),
        &metrics, dl);
    CHECK(rows_text(d.rows) == std::vector<std::string>{"2|NULL"});
    CHECK(test::read_file(dl) ==
          tmp / "m.json" + ":1: missing field 'ts': {\"id\":1}\n");
  }
  GIVEN("a JSON sink writing ISO-8601 timestamps") {
    row_batch b{schema};
    b.col(0).push(int32_t{1});
    b.col(1).push(int64_t{1796378400123});
    b.col(0).push(int32_t{2});
    b.col(1).push_null();
    auto w = with(tmp / "iso.json", "json",
                  {{"json.timestamp-format.standard", "ISO-8601"}});
    write_all("iso", b, w);
    CHECK(test::read_file(tmp / "iso.json") ==
          "{\"id\":1,\"ts\":\"2026-12-04T10:00:00.123\"}\n"
          "{\"id\":2,\"ts\":null}\n");
    auto d = read_all("iso", schema, w);
    CHECK(rows_text(d.rows) == rows_text(b));
  }
}

SCENARIO("CSV format options: '\\t' is a tab, one character each",
         "[table_files][csv]") {
  auto specs = filesystem_table_options();
  auto fmt_of = [&](std::map<std::string, std::string> w) {
    auto opts = options_from_strings(specs, w);
    REQUIRE(opts);
    return table_format_from(*opts);
  };
  auto tab = fmt_of(with("x", "csv", {{"csv.field-delimiter", "\\t"}}));
  REQUIRE(tab);
  CHECK(tab->delimiter == '\t');
  CHECK(tab->quote == '"');
  CHECK_FALSE(tab->null_literal);
  auto same = fmt_of(
      with("x", "csv",
           {{"csv.field-delimiter", "'"}, {"csv.quote-character", "'"}}));
  REQUIRE_FALSE(same);
  CHECK(describe(same.error()).find("must differ") != std::string::npos);
  auto wide = fmt_of(with("x", "csv", {{"csv.quote-character", "``"}}));
  REQUIRE_FALSE(wide);
  CHECK(describe(wide.error()).find("'csv.quote-character'") !=
        std::string::npos);
}

SCENARIO("a one-column CSV row of NULL is not an empty line",
         "[table_files][csv]") {
  test::temp_dir tmp;
  auto schema = make_schema({{"n", int64_type()}});
  row_batch b{schema};
  b.col(0).push(int64_t{1});
  b.col(0).push_null();
  b.col(0).push(int64_t{3});
  auto w = with(tmp / "one.csv", "csv");
  write_all("one", b, w);
  CHECK(test::read_file(tmp / "one.csv") == "1\n\"\"\n3\n");
  auto d = read_all("one", schema, w);
  CHECK(rows_text(d.rows) == std::vector<std::string>{"1", "NULL", "3"});
}

SCENARIO("bad JSON lines say why and leave the batch as it was",
         "[table_files][json]") {
  auto schema = make_schema({{"id", int64_type()}, {"s", string_type()}});
  row_batch out{schema};
  decode_scratch scratch;
  table_format fmt;
  fmt.format = table_format::kind::json;
  REQUIRE(!json_decode_row("{\"id\":1,\"s\":\"a\"}", fmt, out, scratch));
  for (auto [line, why] : std::vector<std::pair<std::string, std::string>>{
           {"[1]", "expected an object"},
           {"{\"id\":2,\"s\":\"\\ud800\"}", "lone surrogate"},
           {"{\"id\":2,\"s\":\"\\q\"}", "bad escape"},
           {"{\"id\":2,\"s\":\"tab\there\"}", "control character"},
           {"{\"id\":2,\"s\":\"open}", "unterminated string"},
           {"{\"id\":2} x", "text after the object"},
           {"{\"id\":[2],\"s\":\"a\"}", "column 'id': an object or array"},
           {"{\"id\":2.5,\"s\":\"a\"}", "column 'id': '2.5' is not a valid"},
           {"{\"id\":nope}", "expected a value"}}) {
    auto err = json_decode_row(line, fmt, out, scratch);
    INFO(line);
    REQUIRE(err);
    CHECK(describe(err).find(why) != std::string::npos);
    CHECK(out.num_rows() == 1);
    CHECK(out.col(1).size() == 1);
    CHECK(out.well_formed());
  }
  CHECK(test::row_text(out, 0) == "1|a");
}

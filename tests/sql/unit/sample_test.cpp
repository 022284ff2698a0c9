// A run on samples (`sluice sql --sample TABLE=FILE`): apply_samples
// through compile_script, with the real connectors' options.
#include "sql/sample.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "connectors/table_registry.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/functions.hpp"
#include "sql/script.hpp"

using namespace sluice;
using namespace sluice::sql;

namespace {

using option_map = std::map<std::string, std::string>;

/// A topic-like source of orders and a sink that would write a file.
constexpr std::string_view shop_script =
    R"(CREATE TABLE orders (
  shop_id BIGINT, amount BIGINT, ts TIMESTAMP(3),
  cents AS amount * 100,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
  PRIMARY KEY (shop_id) NOT ENFORCED
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'rate' = '1000');
CREATE TABLE shop_totals (
  shop_id BIGINT, window_start TIMESTAMP(3), orders BIGINT, revenue BIGINT
) WITH ('connector' = 'filesystem', 'path' = '/db/shop_totals',
        'format' = 'csv');
INSERT INTO shop_totals
SELECT shop_id, window_start, COUNT(*), SUM(cents)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop_id, window_start, window_end;
)";

struct outcome {
  caf::expected<compiled_script> script{compiled_script{}};
  std::vector<sql_diagnostic> diags;
  std::string text;
};

outcome compile_with(std::string_view text, std::vector<sample_table> samples,
                     connector_infos infos = table_registry::builtin().infos(),
                     std::map<std::string, std::string> settings = {}) {
  outcome out;
  out.text = std::string{text};
  compile_options opts;
  opts.sample = sample_options{std::move(samples)};
  opts.settings = std::move(settings);
  out.script = compile_script(out.text, "shop.sql",
                              sluice::expr::function_registry::builtin(), infos,
                              opts, out.diags);
  return out;
}

sample_table sample_of(std::string table, std::string path,
                       std::string dead_letter = {}) {
  return {std::move(table), std::move(path), std::move(dead_letter)};
}

const scan_stage& scan_of(const job_spec& j) {
  REQUIRE(std::holds_alternative<scan_stage>(j.stages.front().core));
  return std::get<scan_stage>(j.stages.front().core);
}

std::vector<const sink_stage*> sinks_of(const job_spec& j) {
  std::vector<const sink_stage*> out;
  for (auto& s : j.stages)
    if (auto* k = std::get_if<sink_stage>(&s.core))
      out.push_back(k);
  return out;
}

} // namespace

SCENARIO("a run on samples reads the sample and prints what the script "
         "writes",
         "[sql][sample]") {
  GIVEN("a script whose source reads a topic and whose sink writes a file") {
    WHEN("its source is sampled with a CSV file") {
      auto out = compile_with(shop_script, {sample_of("orders", "orders.csv",
                                                      "/tmp/x/0.dead-letter")});
      INFO(render(out.diags, out.text));
      REQUIRE(out.diags.empty());
      REQUIRE(out.script);
      REQUIRE(out.script->jobs.size() == 1);
      auto& job = out.script->jobs[0];
      THEN("the source reads the file with the filesystem connector, "
           "keeping its columns, computed columns, watermark and key") {
        auto& t = scan_of(job).table;
        CHECK(t.connector == "filesystem");
        CHECK(t.options ==
              option_map{{"path", "orders.csv"},
                         {"format", "csv"},
                         {"dead-letter.path", "/tmp/x/0.dead-letter"}});
        REQUIRE(t.physical.fields.size() == 3);
        CHECK(t.physical.fields[0].name == "shop_id");
        CHECK(t.physical.fields[2].type == columnar::timestamp_type());
        REQUIRE(t.computed.size() == 1);
        CHECK(t.computed[0].first == "cents");
        CHECK(t.watermark.has_value());
        CHECK(t.primary_key == std::vector<uint32_t>{0});
      }
      THEN("the sink prints, without the file connector's options") {
        auto sinks = sinks_of(job);
        REQUIRE(sinks.size() == 1);
        CHECK(sinks[0]->table.name == "shop_totals");
        CHECK(sinks[0]->table.connector == "print");
        CHECK(sinks[0]->table.options.empty());
      }
    }
    WHEN("its source is sampled with a JSON-lines file") {
      auto out = compile_with(shop_script,
                              {sample_of("orders", "dir.v2/orders.JSONL")});
      REQUIRE(out.script);
      THEN("the format is json and no dead-letter path is set") {
        CHECK(scan_of(out.script->jobs[0]).table.options ==
              option_map{{"path", "dir.v2/orders.JSONL"}, {"format", "json"}});
      }
    }
  }
}

TEST_CASE("the format of a sample follows its extension", "[sql][sample]") {
  CHECK(sample_format("a.csv") == "csv");
  CHECK(sample_format("a.CSV") == "csv");
  CHECK(sample_format("a.json") == "json");
  CHECK(sample_format("a.jsonl") == "json");
  CHECK(sample_format("a.txt") == "csv");
  CHECK(sample_format("dir.json/a") == "csv");
  CHECK(sample_format("no_extension") == "csv");
}

SCENARIO("a sampled table keeps the format options its declared format "
         "shares with the sample",
         "[sql][sample]") {
  GIVEN("a CSV source with a semicolon delimiter and comments") {
    std::string text = R"(CREATE TABLE s (k STRING, n BIGINT) WITH (
  'connector' = 'filesystem', 'path' = '/data/s', 'format' = 'csv',
  'csv.field-delimiter' = ';', 'csv.allow-comments' = 'true',
  'scan.watermark.idle-timeout' = '5 s');
CREATE TABLE o (k STRING, n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT k, n FROM s;
)";
    WHEN("the sample is a CSV file") {
      auto out = compile_with(text, {sample_of("s", "s.csv")});
      REQUIRE(out.script);
      THEN("the CSV options stay, the others go") {
        CHECK(scan_of(out.script->jobs[0]).table.options ==
              option_map{{"path", "s.csv"},
                         {"format", "csv"},
                         {"csv.field-delimiter", ";"},
                         {"csv.allow-comments", "true"}});
      }
    }
    WHEN("the sample is a JSON file") {
      auto out = compile_with(text, {sample_of("s", "s.json")});
      REQUIRE(out.script);
      THEN("no CSV option stays") {
        CHECK(scan_of(out.script->jobs[0]).table.options ==
              option_map{{"path", "s.json"}, {"format", "json"}});
      }
    }
  }
  GIVEN("a topic's table declaring Flink's value.format") {
    auto infos = table_registry::builtin().infos();
    option_spec format_spec;
    format_spec.name = "value.format";
    option_spec delimiter_spec;
    delimiter_spec.name = "value.csv.field-delimiter";
    option_spec servers_spec;
    servers_spec.name = "properties.bootstrap.servers";
    infos["topic"] = {"topic",
                      true,
                      false,
                      false,
                      {format_spec, delimiter_spec, servers_spec}};
    std::string text = R"(CREATE TABLE s (k STRING, n BIGINT) WITH (
  'connector' = 'topic', 'properties.bootstrap.servers' = 'broker:9092',
  'value.format' = 'csv', 'value.csv.field-delimiter' = '|');
CREATE TABLE o (k STRING, n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO o SELECT k, n FROM s;
)";
    WHEN("the sample is a CSV file") {
      auto out = compile_with(text, {sample_of("s", "s.csv")}, infos);
      INFO(render(out.diags, out.text));
      REQUIRE(out.script);
      THEN("value.csv.field-delimiter becomes csv.field-delimiter") {
        CHECK(scan_of(out.script->jobs[0]).table.options ==
              option_map{{"path", "s.csv"},
                         {"format", "csv"},
                         {"csv.field-delimiter", "|"}});
      }
    }
  }
}

SCENARIO("a script writing several tables prints each under its name",
         "[sql][sample]") {
  GIVEN("two INSERTs and a late-rows table") {
    std::string text = std::string{shop_script} + R"(
CREATE TABLE big (shop_id BIGINT, amount BIGINT)
  WITH ('connector' = 'blackhole');
CREATE TABLE late (stage STRING, event_time TIMESTAMP(3),
  watermark TIMESTAMP(3), row_text STRING)
  WITH ('connector' = 'filesystem', 'path' = '/db/late', 'format' = 'json');
INSERT INTO big SELECT shop_id, amount FROM orders WHERE amount > 100;
)";
    auto out = compile_with(text, {sample_of("orders", "orders.csv")},
                            table_registry::builtin().infos(),
                            {{"sluice.late-rows.table", "late"}});
    INFO(render(out.diags, out.text));
    REQUIRE(out.script);
    REQUIRE(out.script->jobs.size() == 2);
    THEN("every table written prints, with its name before each row") {
      std::map<std::string, option_map> printed;
      for (auto& j : out.script->jobs)
        for (auto* s : sinks_of(j)) {
          CHECK(s->table.connector == "print");
          printed[s->table.name] = s->table.options;
        }
      CHECK(printed ==
            std::map<std::string, option_map>{
                {"shop_totals", {{"print-identifier", "shop_totals"}}},
                {"late", {{"print-identifier", "late"}}},
                {"big", {{"print-identifier", "big"}}}});
    }
  }
}

SCENARIO("a run on samples refuses what it cannot run", "[sql][sample]") {
  GIVEN("a sample of a table the script does not declare") {
    auto out = compile_with(shop_script, {sample_of("order", "orders.csv")});
    THEN("the error names the tables it declares") {
      REQUIRE_FALSE(out.script);
      CHECK(out.script.error() == make_error(config_errc::invalid));
      CHECK_THAT(describe(out.script.error()),
                 Catch::Contains("--sample order=orders.csv: the script "
                                 "declares no table 'order' (its tables: "
                                 "orders, shop_totals)"));
    }
  }
  GIVEN("a sample of a table the script writes") {
    auto out = compile_with(shop_script, {sample_of("orders", "orders.csv"),
                                          sample_of("shop_totals", "t.csv")});
    THEN("it is refused: that table prints") {
      REQUIRE_FALSE(out.script);
      CHECK_THAT(describe(out.script.error()),
                 Catch::Contains("the script writes table 'shop_totals'"));
    }
  }
  GIVEN("two samples of one table") {
    auto out = compile_with(shop_script, {sample_of("orders", "orders.csv"),
                                          sample_of("orders", "more.csv")});
    THEN("the second is refused") {
      REQUIRE_FALSE(out.script);
      CHECK_THAT(describe(out.script.error()),
                 Catch::Contains("--sample orders=more.csv: table 'orders' "
                                 "has a sample already"));
    }
  }
  GIVEN("a view named as a sample") {
    std::string text =
        std::string{shop_script} + "CREATE VIEW big AS SELECT * FROM orders;\n";
    auto out = compile_with(text, {sample_of("big", "b.csv")});
    THEN("the error says to sample the tables it reads") {
      REQUIRE_FALSE(out.script);
      CHECK_THAT(describe(out.script.error()),
                 Catch::Contains("'big' is a view; sample the tables it "
                                 "reads"));
    }
  }
  GIVEN("a job reading a table without a sample, through a view") {
    std::string text =
        R"(CREATE TABLE a (k STRING) WITH ('connector' = 'nexmark', 'table' = 'bid');
CREATE TABLE b (k STRING) WITH ('connector' = 'nexmark', 'table' = 'bid');
CREATE VIEW vb AS SELECT k FROM b;
CREATE TABLE o (k STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT k FROM a;
INSERT INTO o SELECT k FROM vb;
)";
    auto out = compile_with(text, {sample_of("a", "a.csv")});
    THEN("a diagnostic at the place it is read names it and the flag") {
      REQUIRE_FALSE(out.script);
      CHECK(out.script.error() == make_error(sql_errc::invalid_script));
      REQUIRE(out.diags.size() == 1);
      CHECK(out.diags[0].code == diag_code::no_sample);
      CHECK(render(out.diags[0], out.text) ==
            "shop.sql:3:33: error: table 'b' is read by INSERT INTO o but "
            "has no sample: add --sample b=FILE (a run on samples reads "
            "files only, so that it ends)\n"
            "CREATE VIEW vb AS SELECT k FROM b;\n"
            "                                ^");
    }
  }
  GIVEN("a script with an error of its own") {
    std::string text = std::string{shop_script} +
                       "INSERT INTO shop_totals SELECT nope FROM orders;\n";
    auto out = compile_with(text, {sample_of("missing", "m.csv")});
    THEN("the script's error is reported as written, before any sample") {
      REQUIRE_FALSE(out.script);
      CHECK(out.script.error() == make_error(sql_errc::invalid_script));
      REQUIRE(out.diags.size() == 1);
      CHECK(out.diags[0].code == diag_code::unknown_column);
    }
  }
  GIVEN("a script that is only sound once rewritten") {
    // An update stream into the file sink: print would take it, but the
    // script as written must be sound.
    std::string text = std::string{shop_script} +
                       "INSERT INTO shop_totals SELECT shop_id, "
                       "CAST(NULL AS TIMESTAMP(3)), COUNT(*), SUM(amount) "
                       "FROM orders GROUP BY shop_id;\n";
    auto out = compile_with(text, {sample_of("orders", "orders.csv")});
    THEN("it is refused as it would be without samples") {
      REQUIRE_FALSE(out.script);
      REQUIRE(out.diags.size() == 1);
      CHECK(out.diags[0].code == diag_code::sink_no_updates);
    }
  }
}

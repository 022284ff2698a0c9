#include "connectors/table_registry.hpp"

#include <catch2/catch.hpp>

#include "runtime/columnar/schema.hpp"

using namespace sluice;

namespace {

bool has_option(const connector_info& info, const std::string& name) {
  for (auto& spec : info.options)
    if (spec.name == name)
      return true;
  return false;
}

} // namespace

SCENARIO("the built-in table registry knows every table connector",
         "[table_registry]") {
  auto reg = table_registry::builtin();
  THEN("sources and sinks are found by name") {
    CHECK(reg.find_source("filesystem") != nullptr);
    CHECK(reg.find_sink("filesystem") != nullptr);
    CHECK(reg.find_source("nexmark") != nullptr);
    CHECK(reg.find_sink("nexmark") == nullptr);
    CHECK(reg.find_sink("print") != nullptr);
    CHECK(reg.find_source("print") == nullptr);
    CHECK(reg.find_sink("blackhole") != nullptr);
    CHECK(reg.find_source("kafka") == nullptr);
  }
  THEN("infos merge a name's source and sink") {
    auto infos = reg.infos();
    REQUIRE(infos.size() == 6); // and mariadb, topic
    auto& fs = infos.at("filesystem");
    CHECK(fs.name == "filesystem");
    CHECK(fs.source);
    CHECK(fs.sink);
    CHECK_FALSE(fs.accepts_updates);
    CHECK(has_option(fs, "path"));
    CHECK(has_option(fs, "csv.field-delimiter"));
    size_t paths = 0;
    for (auto& spec : fs.options)
      paths += spec.name == "path";
    CHECK(paths == 1);
    auto& nx = infos.at("nexmark");
    CHECK(nx.source);
    CHECK_FALSE(nx.sink);
    CHECK(has_option(nx, "events.num"));
    auto& print = infos.at("print");
    CHECK_FALSE(print.source);
    CHECK(print.sink);
    CHECK(print.accepts_updates);
    CHECK(has_option(print, "print-identifier"));
    CHECK(infos.at("blackhole").accepts_updates);
    auto& topic = infos.at("topic");
    CHECK(topic.source);
    CHECK(topic.sink);
    CHECK_FALSE(topic.accepts_updates);
    CHECK(has_option(topic, "scan.startup.mode"));
    CHECK(has_option(topic, "csv.field-delimiter"));
    CHECK_FALSE(has_option(topic, "path"));
  }
}

SCENARIO("an embedding program adds its own table connector",
         "[table_registry]") {
  auto reg = table_registry::builtin();
  table_sink_type t;
  t.name = "mine";
  t.accepts_updates = true;
  t.options = {{"url", option_type::string, "where", true}};
  reg.add(t);
  REQUIRE(reg.find_sink("mine") != nullptr);
  auto infos = reg.infos();
  REQUIRE(infos.count("mine") == 1);
  CHECK(infos.at("mine").sink);
  CHECK_FALSE(infos.at("mine").source);
  CHECK(infos.at("mine").accepts_updates);
  CHECK(has_option(infos.at("mine"), "url"));
  // Adding again replaces.
  t.accepts_updates = false;
  reg.add(t);
  CHECK_FALSE(reg.infos().at("mine").accepts_updates);
}

#include "runtime/option_strings.hpp"

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"

using namespace sluice;

namespace {

std::vector<option_spec> specs() {
  return {
      {"count", option_type::integer, "a count", false,
       option_value{int64_t{7}}, 0, 100},
      {"on", option_type::boolean, "a switch", false, option_value{false}},
      {"every", option_type::duration, "a period", false,
       option_value{int64_t{1000}}},
      {"size", option_type::bytes, "a size", false},
      {"mode",
       option_type::string,
       "a mode",
       true,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {"fast", "slow"}},
      {"names", option_type::string_list, "names", false},
      {"tags", option_type::string_map, "tags", false},
  };
}

std::string text_of(const caf::error& err) {
  return describe(err);
}

} // namespace

SCENARIO("WITH strings become typed options", "[option_strings]") {
  GIVEN("values of every kind") {
    auto opts =
        options_from_strings(specs(), {{"connector", "x"},
                                       {"scan.watermark.idle-timeout", "5 s"},
                                       {"count", "42"},
                                       {"on", "TRUE"},
                                       {"every", "10 s"},
                                       {"size", "64MiB"},
                                       {"mode", "fast"},
                                       {"names", "a; b;c"},
                                       {"tags", "k1:v1, k2 : v2"}});
    THEN("each has its type and value") {
      REQUIRE(opts);
      CHECK(opts->get_int("count") == 42);
      CHECK(opts->get_bool("on"));
      CHECK(opts->get_int("every") == 10000);
      CHECK(opts->get_int("size") == 64 * 1024 * 1024);
      CHECK(opts->get_string("mode") == "fast");
      CHECK(opts->get_list("names") == std::vector<std::string>{"a", "b", "c"});
      CHECK(opts->get_map("tags") == string_map{{"k1", "v1"}, {"k2", "v2"}});
      CHECK_FALSE(opts->contains("connector"));
      CHECK_FALSE(opts->contains("scan.watermark.idle-timeout"));
    }
  }
  GIVEN("durations in several spellings") {
    for (auto [text, ms] : {std::pair<const char*, int64_t>{"200ms", 200},
                            {"200 ms", 200},
                            {"10 s", 10000},
                            {"10 seconds", 10000},
                            {"1 min", 60000},
                            {"2 hours", 7200000},
                            {"1500", 1500}}) {
      auto opts =
          options_from_strings(specs(), {{"mode", "slow"}, {"every", text}});
      REQUIRE(opts);
      CHECK(opts->get_int("every") == ms);
    }
  }
  GIVEN("only the required option") {
    auto opts = options_from_strings(specs(), {{"mode", "slow"}});
    THEN("the fallbacks fill the rest") {
      REQUIRE(opts);
      CHECK(opts->get_int("count") == 7);
      CHECK_FALSE(opts->get_bool("on"));
      CHECK(opts->get_int("every") == 1000);
      CHECK_FALSE(opts->contains("size"));
    }
  }
}

SCENARIO("bad WITH strings are errors naming the option and the value",
         "[option_strings]") {
  auto fails_with = [](std::map<std::string, std::string> values,
                       std::vector<std::string> parts) {
    auto opts = options_from_strings(specs(), values);
    REQUIRE_FALSE(opts);
    CHECK(opts.error().category() ==
          make_error(config_errc::invalid).category());
    CHECK(opts.error().code() == static_cast<uint8_t>(config_errc::invalid));
    auto text = text_of(opts.error());
    for (auto& part : parts) {
      INFO(text);
      CHECK(text.find(part) != std::string::npos);
    }
  };
  fails_with({{"mode", "fast"}, {"count", "12x"}},
             {"option 'count'", "'12x'", "not an integer"});
  fails_with({{"mode", "fast"}, {"on", "yes"}}, {"option 'on'", "'yes'"});
  fails_with({{"mode", "fast"}, {"every", "10 parsecs"}},
             {"option 'every'", "'10 parsecs'", "duration"});
  fails_with({{"mode", "fast"}, {"size", "lots"}}, {"option 'size'", "'lots'"});
  fails_with({{"mode", "medium"}}, {"option 'mode'", "\"medium\""});
  fails_with({{"mode", "fast"}, {"count", "101"}},
             {"option 'count'", "at most 100", "101"});
  fails_with({{"mode", "fast"}, {"colour", "red"}},
             {"unknown option 'colour'", "'count'"});
  fails_with({{"mode", "fast"}, {"tags", "novalue"}},
             {"option 'tags'", "'novalue'"});
  fails_with({}, {"missing required option 'mode'"});
  // Every problem at once.
  fails_with({{"count", "x"}, {"colour", "red"}},
             {"option 'count'", "unknown option 'colour'",
              "missing required option 'mode'"});
}

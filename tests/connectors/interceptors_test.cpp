#include "connectors/interceptors.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "tests/connectors/connector_test_helpers.hpp"

using namespace sluice;

namespace {

caf::expected<interceptor_ptr> try_make(const std::string& name,
                                        options o = {}) {
  auto types = builtin_interceptor_types();
  auto i = std::find_if(types.begin(), types.end(),
                        [&](auto& t) { return t.name == name; });
  REQUIRE(i != types.end());
  o.apply_fallbacks(i->options);
  return i->make(o);
}

std::vector<interceptor_ptr> chain_of(const std::string& name, options o = {}) {
  auto x = try_make(name, std::move(o));
  REQUIRE(x);
  REQUIRE(*x);
  std::vector<interceptor_ptr> chain;
  chain.push_back(std::move(*x));
  return chain;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

SCENARIO("every built-in interceptor type is known by name", "[interceptors]") {
  auto types = builtin_interceptor_types();
  std::vector<std::string> names;
  for (auto& t : types)
    names.push_back(t.name);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"host", "regex_extract",
                                          "regex_filter", "static",
                                          "timestamp"});
}

SCENARIO("the timestamp interceptor adds the time in epoch milliseconds",
         "[interceptors]") {
  GIVEN("a timestamp interceptor") {
    auto chain = chain_of("timestamp");
    event_batch b;
    batch_builder builder{b, chain};
    auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    REQUIRE(builder.append("hello"));
    auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    THEN("the event has a numeric timestamp header of now") {
      auto ts = b.header(0, "timestamp");
      REQUIRE(all_digits(ts));
      auto value = std::stoll(std::string{ts});
      CHECK(value >= before);
      CHECK(value <= after);
      CHECK(b.body(0) == "hello");
    }
    WHEN("the event already has a timestamp") {
      REQUIRE(builder.append("old", "timestamp", "42"));
      THEN("it is preserved") {
        CHECK(b.header(1, "timestamp") == "42");
      }
    }
  }
  GIVEN("a timestamp interceptor with another header name, not preserving") {
    options o;
    o.set("header", std::string{"ts"});
    o.set("preserve_existing", false);
    auto chain = chain_of("timestamp", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("old", "ts", "42"));
    THEN("the header is replaced") {
      CHECK(b.header(0, "ts") != "42");
      CHECK(all_digits(b.header(0, "ts")));
      CHECK(b.header(0, "timestamp").empty());
      CHECK(b.headers(0).size() == 1);
    }
  }
}

SCENARIO("the static interceptor adds a fixed header", "[interceptors]") {
  GIVEN("a static interceptor env=prod") {
    options o;
    o.set("key", std::string{"env"});
    o.set("value", std::string{"prod"});
    auto chain = chain_of("static", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("plain"));
    REQUIRE(builder.append("tagged", {{"env", "dev"}, {"other", "1"}}));
    THEN("it adds env=prod and keeps an existing env") {
      CHECK(b.header(0, "env") == "prod");
      CHECK(b.header(1, "env") == "dev");
      CHECK(b.header(1, "other") == "1");
      CHECK(b.headers(1).size() == 2);
    }
  }
  GIVEN("a static interceptor that does not preserve") {
    options o;
    o.set("key", std::string{"env"});
    o.set("value", std::string{"prod"});
    o.set("preserve_existing", false);
    auto chain = chain_of("static", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("tagged", "env", "dev"));
    THEN("it overwrites the existing value") {
      CHECK(b.header(0, "env") == "prod");
      CHECK(b.headers(0).size() == 1);
    }
  }
}

SCENARIO("the host interceptor adds the host", "[interceptors]") {
  GIVEN("a host interceptor") {
    auto chain = chain_of("host");
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("x"));
    THEN("the event has a non-empty host header") {
      CHECK(!b.header(0, "host").empty());
    }
  }
  GIVEN("a host interceptor using the IP address") {
    options o;
    o.set("use_ip", true);
    o.set("header", std::string{"ip"});
    auto chain = chain_of("host", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("x"));
    THEN("the header holds a dotted IPv4 address") {
      auto ip = std::string{b.header(0, "ip")};
      CHECK(!ip.empty());
      CHECK(std::count(ip.begin(), ip.end(), '.') == 3);
    }
  }
}

SCENARIO("the regex_filter interceptor keeps or drops events",
         "[interceptors]") {
  auto feed = [](std::vector<interceptor_ptr>& chain, event_batch& b) {
    batch_builder builder{b, chain};
    std::vector<bool> kept;
    for (auto line : {"ERROR disk", "INFO ok", "ERROR net", "DEBUG x"})
      kept.push_back(builder.append(line));
    return std::make_pair(kept, builder.dropped());
  };
  GIVEN("a filter on ^ERROR") {
    options o;
    o.set("regex", std::string{"^ERROR"});
    auto chain = chain_of("regex_filter", o);
    event_batch b;
    auto [kept, dropped] = feed(chain, b);
    THEN("only matching events stay and the others count as dropped") {
      CHECK(kept == std::vector<bool>{true, false, true, false});
      CHECK(dropped == 2);
      REQUIRE(b.size() == 2);
      CHECK(b.body(0) == "ERROR disk");
      CHECK(b.body(1) == "ERROR net");
    }
  }
  GIVEN("an excluding filter on ERROR") {
    options o;
    o.set("regex", std::string{"ERROR"});
    o.set("exclude", true);
    auto chain = chain_of("regex_filter", o);
    event_batch b;
    auto [kept, dropped] = feed(chain, b);
    THEN("matching events are dropped") {
      CHECK(kept == std::vector<bool>{false, true, false, true});
      CHECK(dropped == 2);
      REQUIRE(b.size() == 2);
      CHECK(b.body(0) == "INFO ok");
      CHECK(b.body(1) == "DEBUG x");
      CHECK(b.byte_size() == 7 + 7);
    }
  }
  GIVEN("a chain whose filter follows a header-adding interceptor") {
    options s;
    s.set("key", std::string{"k"});
    s.set("value", std::string{"v"});
    auto chain = chain_of("static", s);
    options f;
    f.set("regex", std::string{"keep"});
    auto filter = try_make("regex_filter", f);
    REQUIRE(filter);
    chain.push_back(std::move(*filter));
    event_batch b;
    batch_builder builder{b, chain};
    CHECK(builder.append("keep 1"));
    CHECK(!builder.append("drop"));
    CHECK(builder.append("keep 2"));
    THEN("dropped events leave neither body nor headers behind") {
      CHECK(builder.dropped() == 1);
      REQUIRE(b.size() == 2);
      CHECK(b.body(1) == "keep 2");
      CHECK(b.header(1, "k") == "v");
      CHECK(b.headers(1).size() == 1);
      CHECK(b.byte_size() == 6 + 2 + 6 + 2);
    }
  }
}

SCENARIO("the regex_extract interceptor turns captures into headers",
         "[interceptors]") {
  GIVEN("an extractor of user and status") {
    options o;
    o.set("regex", std::string{R"(user=(\w+) status=(\d+))"});
    o.set("headers", std::vector<std::string>{"user", "status"});
    auto chain = chain_of("regex_extract", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("GET / user=alice status=200 took 3ms"));
    REQUIRE(builder.append("no match here"));
    THEN("matching events get one header per group, others pass unchanged") {
      CHECK(b.header(0, "user") == "alice");
      CHECK(b.header(0, "status") == "200");
      CHECK(b.body(0) == "GET / user=alice status=200 took 3ms");
      CHECK(b.headers(1).empty());
      CHECK(b.body(1) == "no match here");
    }
  }
  GIVEN("fewer headers than groups") {
    options o;
    o.set("regex", std::string{R"((\w+)-(\w+))"});
    o.set("headers", std::vector<std::string>{"first"});
    auto chain = chain_of("regex_extract", o);
    event_batch b;
    batch_builder builder{b, chain};
    REQUIRE(builder.append("ab-cd"));
    THEN("only the named groups become headers") {
      CHECK(b.header(0, "first") == "ab");
      CHECK(b.headers(0).size() == 1);
    }
  }
  GIVEN("more headers than groups") {
    options o;
    o.set("regex", std::string{R"((\w+))"});
    o.set("headers", std::vector<std::string>{"a", "b"});
    auto x = try_make("regex_extract", o);
    THEN("make fails") {
      REQUIRE(!x);
      CHECK_THAT(describe(x.error()), Catch::Contains("capture groups"));
    }
  }
}

SCENARIO("an invalid regex is rejected by make", "[interceptors]") {
  for (auto type : {"regex_filter", "regex_extract"}) {
    options o;
    o.set("regex", std::string{"(unclosed"});
    o.set("headers", std::vector<std::string>{});
    auto x = try_make(type, o);
    INFO(type);
    REQUIRE(!x);
    auto text = describe(x.error());
    CHECK_THAT(text, Catch::Contains("invalid regex"));
    CHECK_THAT(text, Catch::Contains("(unclosed"));
  }
}

#include "runtime/errors.hpp"

#include <cerrno>

#include <caf/exit_reason.hpp>
#include <catch2/catch.hpp>

using namespace sluice;

SCENARIO("errors tell permanent causes from transient ones", "[errors]") {
  GIVEN("an I/O error") {
    auto err = make_error(connector_errc::io_error, "cannot write x");
    THEN("it is transient until marked permanent") {
      CHECK(!is_permanent(err));
      auto p = make_permanent(err);
      CHECK(is_permanent(p));
      AND_THEN("the mark keeps its code and its text") {
        CHECK(p == make_error(connector_errc::io_error));
        CHECK(describe(p) == describe(err));
        CHECK(is_permanent(make_permanent(p)));
      }
    }
    THEN("an errno that no retry cures makes it permanent") {
      for (int code : {ENOTDIR, EEXIST, EISDIR, EACCES, EPERM, EROFS})
        CHECK(is_permanent(classify_errno(err, code)));
      for (int code : {ENOSPC, EIO, EAGAIN, ENOENT, EMFILE})
        CHECK(!is_permanent(classify_errno(err, code)));
    }
  }
  THEN("configuration errors are permanent, no error is not") {
    CHECK(is_permanent(make_error(config_errc::invalid, "bad")));
    CHECK(!is_permanent(caf::error{}));
  }
}

TEST_CASE("how an actor ended reads as words, not a number", "[errors]") {
  // A peer node's death reaches its proxies as remote_link_unreachable.
  auto text = sluice::describe(
      caf::make_error(caf::exit_reason::remote_link_unreachable));
  CHECK(text == "remote_link_unreachable");
}

TEST_CASE("SQL errors: a wrong script or plan is permanent, a running "
          "job's trouble is not",
          "[errors]") {
  auto bad = make_error(sql_errc::invalid_script, "q.sql:3:7: unknown column");
  CHECK(is_permanent(bad));
  CHECK(describe(bad) == "invalid SQL script: q.sql:3:7: unknown column");
  CHECK(is_permanent(make_error(sql_errc::bad_plan)));
  CHECK(!is_permanent(make_error(sql_errc::state_limit, "window_agg#2")));
  CHECK(!is_permanent(make_error(sql_errc::protocol)));
  CHECK(describe(make_error(sql_errc::eval_error)) ==
        "expression evaluation error");
}

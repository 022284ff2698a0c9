#include "connectors/table_sinks.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/connectors/table_test_helpers.hpp"
#include "tests/support/process.hpp"

using namespace sluice;
using namespace sluice::columnar;

namespace {

row_batch changelog() {
  row_batch b{make_schema({{"id", int64_type()},
                           {"name", string_type()},
                           {"ts", timestamp_type()},
                           {"amount", decimal_type(23, 3)},
                           {"ok", boolean_type()}})};
  auto row = [&](int64_t id, const char* name, int64_t ts, int128 amount,
                 row_kind k) {
    b.col(0).push(id);
    if (name)
      b.col(1).push_str(name);
    else
      b.col(1).push_null();
    b.col(2).push(ts);
    b.col(3).push(amount);
    b.col(4).push<uint8_t>(1);
    b.set_kind(b.num_rows() - 1, k);
  };
  row(1, "abc", 1796378400000, 908, row_kind::insert);
  row(1, "abc", 1796378400000, 908, row_kind::update_before);
  row(1, nullptr, 1796378401500, -1816, row_kind::update_after);
  row(2, "x, y", 0, 0, row_kind::del);
  return b;
}

} // namespace

SCENARIO("the print sink writes rows as Flink's print connector", "[print]") {
  test::temp_dir tmp;
  auto rows = changelog();
  GIVEN("no identifier and one instance") {
    auto ctx = test::make_table_context("out", rows.row_schema());
    auto sink = test::make_table_sink("print", ctx, {{"path", tmp / "p.txt"}});
    REQUIRE(!sink->open());
    REQUIRE(!sink->write(rows));
    sink->close();
    THEN("each row is its kind and its values") {
      CHECK(test::read_file(tmp / "p.txt") ==
            "+I[1, abc, 2026-12-04 10:00:00.000, 0.908, true]\n"
            "-U[1, abc, 2026-12-04 10:00:00.000, 0.908, true]\n"
            "+U[1, null, 2026-12-04 10:00:01.500, -1.816, true]\n"
            "-D[2, x, y, 1970-01-01 00:00:00.000, 0.000, true]\n");
    }
  }
  GIVEN("an identifier, a selection and the second of two instances") {
    auto ctx = test::make_table_context("out", rows.row_schema(), 1, 2);
    auto sink = test::make_table_sink(
        "print", ctx, {{"path", tmp / "p.txt"}, {"print-identifier", "q1"}});
    REQUIRE(!sink->open());
    rows.set_selection({0, 2});
    REQUIRE(!sink->write(rows));
    sink->close();
    THEN("the selected rows carry the prefix") {
      CHECK(test::read_file(tmp / "p.txt") ==
            "q1:2> +I[1, abc, 2026-12-04 10:00:00.000, 0.908, true]\n"
            "q1:2> +U[1, null, 2026-12-04 10:00:01.500, -1.816, true]\n");
    }
  }
  GIVEN("an identifier and one instance") {
    auto ctx = test::make_table_context("out", rows.row_schema());
    auto sink = test::make_table_sink(
        "print", ctx, {{"path", tmp / "p.txt"}, {"print-identifier", "q1"}});
    REQUIRE(!sink->open());
    rows.set_selection({3});
    REQUIRE(!sink->write(rows));
    sink->close();
    THEN("the prefix is the identifier") {
      CHECK(test::read_file(tmp / "p.txt") ==
            "q1> -D[2, x, y, 1970-01-01 00:00:00.000, 0.000, true]\n");
    }
  }
}

SCENARIO("the blackhole sink counts every row it drops", "[blackhole]") {
  auto rows = changelog();
  auto ctx = test::make_table_context("out", rows.row_schema());
  auto sink = test::make_table_sink("blackhole", ctx, {});
  REQUIRE(!sink->open());
  REQUIRE(!sink->write(rows));
  rows.set_selection({1, 3});
  REQUIRE(!sink->write(rows));
  auto* bh = dynamic_cast<blackhole_sink*>(sink.get());
  REQUIRE(bh != nullptr);
  CHECK(bh->rows() == 6);
  auto reg = table_registry::builtin();
  CHECK(reg.find_sink("blackhole")->accepts_updates);
  CHECK(reg.find_sink("print")->accepts_updates);
}

SCENARIO("the print sink writes to stderr when asked", "[print]") {
  test::temp_dir tmp;
  auto rows = changelog();
  rows.set_selection({0});
  auto ctx = test::make_table_context("out", rows.row_schema());
  auto sink = test::make_table_sink("print", ctx, {{"standard-error", "true"}});
  REQUIRE(!sink->open());
  // Send fd 2 to a file while the sink writes.
  auto file = ::open((tmp / "err.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(file >= 0);
  auto saved = ::dup(STDERR_FILENO);
  ::dup2(file, STDERR_FILENO);
  auto err = sink->write(rows);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(file);
  sink->close();
  REQUIRE(!err);
  CHECK(test::read_file(tmp / "err.txt") ==
        "+I[1, abc, 2026-12-04 10:00:00.000, 0.908, true]\n");
}

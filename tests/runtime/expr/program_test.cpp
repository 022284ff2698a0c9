#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <fmt/format.h>

#include "runtime/columnar/row_batch.hpp"
#include "runtime/columnar/schema.hpp"
#include "runtime/errors.hpp"
#include "runtime/expr/decimal.hpp"
#include "runtime/expr/functions.hpp"
#include "runtime/expr/program.hpp"
#include "runtime/expr/time_util.hpp"

using namespace sluice;
using namespace sluice::expr;
using columnar::data_type;
using columnar::int128;
using columnar::type_id;

namespace {

const auto fns = function_registry::builtin();

/// One cell as text: "NULL", "TRUE", "42", "908.000", "2024-01-01 ...".
std::string cell(const columnar::column& c, uint32_t i) {
  if (!c.valid(i))
    return "NULL";
  switch (c.type().id) {
  case type_id::boolean:
    return c.values<uint8_t>()[i] ? "TRUE" : "FALSE";
  case type_id::int32:
    return std::to_string(c.values<int32_t>()[i]);
  case type_id::int64:
  case type_id::interval_ms:
    return std::to_string(c.values<int64_t>()[i]);
  case type_id::float64:
    return fmt::format("{}", c.values<double>()[i]);
  case type_id::decimal:
    return decimal::to_string(c.values<int128>()[i], c.type().scale);
  case type_id::string:
    return std::string{c.str(i)};
  case type_id::timestamp: {
    std::string out;
    time::append_sql(c.values<int64_t>()[i], out);
    return out;
  }
  case type_id::null_type:
    return "NULL";
  }
  return "?";
}

/// A batch of test rows, built column by column.
struct rows {
  std::vector<columnar::field> fields;
  std::vector<std::vector<std::optional<scalar>>> values;

  rows& col(std::string name, data_type t,
            std::vector<std::optional<scalar>> v) {
    fields.push_back({std::move(name), t});
    values.push_back(std::move(v));
    return *this;
  }

  columnar::row_batch batch() const {
    columnar::row_batch b{columnar::make_schema(fields)};
    for (size_t k = 0; k < fields.size(); ++k) {
      auto& c = b.col(k);
      for (auto& v : values[k]) {
        if (!v || std::holds_alternative<std::monostate>(*v)) {
          c.push_null();
          continue;
        }
        switch (fields[k].type.id) {
        case type_id::boolean:
          c.push<uint8_t>(std::get<bool>(*v));
          break;
        case type_id::int32:
          c.push<int32_t>(static_cast<int32_t>(std::get<int64_t>(*v)));
          break;
        case type_id::int64:
        case type_id::timestamp:
        case type_id::interval_ms:
          c.push<int64_t>(std::get<int64_t>(*v));
          break;
        case type_id::float64:
          c.push<double>(std::get<double>(*v));
          break;
        case type_id::decimal:
          c.push<int128>(std::get<int128>(*v));
          break;
        case type_id::string:
          c.push_str(std::get<std::string>(*v));
          break;
        default:
          c.push_null();
        }
      }
    }
    return b;
  }
};

/// Compiles and evaluates `t` over `b`; the active rows as text.
std::vector<std::string> eval(const tree& t, const columnar::row_batch& b,
                              eval_context& ctx,
                              const function_registry& reg = fns) {
  auto p = program::compile(t, *b.row_schema(), reg);
  if (!p)
    FAIL(describe(p.error()));
  auto& c = p->eval(b, ctx);
  REQUIRE(c.size() == b.num_rows());
  std::vector<uint32_t> scratch;
  std::vector<std::string> out;
  for (auto i : b.active(scratch))
    out.push_back(cell(c, i));
  return out;
}

std::vector<std::string> eval(const tree& t, const columnar::row_batch& b) {
  eval_context ctx;
  return eval(t, b, ctx);
}

/// The result type of `t` over `b`'s schema.
data_type type_of(const tree& t, const columnar::row_batch& b) {
  auto p = program::compile(t, *b.row_schema(), fns);
  REQUIRE(p);
  return p->type();
}

/// The message of the compile error of `t`.
std::string compile_error(const tree& t, const columnar::schema& s) {
  auto p = program::compile(t, s, fns);
  REQUIRE_FALSE(p);
  return describe(p.error());
}

using V = std::vector<std::string>;
using S = std::vector<std::optional<scalar>>;

const auto i64 = columnar::int64_type();
const auto i32 = columnar::int32_type();
const auto str = columnar::string_type();
const auto boolean = columnar::boolean_type();
const auto f64 = columnar::float64_type();
const auto ts = columnar::timestamp_type();

scalar s(const char* x) {
  return std::string{x};
}
scalar i(int64_t x) {
  return x;
}

/// A tree calling `fn` on literals of the given types and values.
tree call_lits(std::string fn, std::vector<std::pair<scalar, data_type>> args) {
  tree t;
  std::vector<uint32_t> ids;
  for (auto& [v, ty] : args)
    ids.push_back(t.add_literal(v, ty));
  t.root = t.add_call(fn, {}, ids);
  return t;
}

/// The value of `fn(args...)` over a one-row batch, as text.
std::string lit(std::string fn, std::vector<std::pair<scalar, data_type>> args,
                eval_context* ctx_in = nullptr) {
  auto b = rows{}.col("x", i64, {i(0)}).batch();
  eval_context local;
  auto& ctx = ctx_in ? *ctx_in : local;
  auto out = eval(call_lits(std::move(fn), std::move(args)), b, ctx);
  REQUIRE(out.size() == 1);
  return out[0];
}

} // namespace

SCENARIO("Nexmark q1: 0.908 * price is DECIMAL(23, 3)", "[expr]") {
  GIVEN("bids with a BIGINT price, one NULL") {
    auto b =
        rows{}
            .col("price", i64, {i(1000), i(1), S::value_type{}, i(123456789)})
            .batch();
    tree t;
    auto factor = t.add_literal(int128{908}, decimal::literal_type("0.908"));
    auto price = t.add_column(0, i64);
    t.root = t.add_call("*", {}, {factor, price});
    WHEN("the product is evaluated") {
      THEN("its type and values are Flink's") {
        auto ty = type_of(t, b);
        CHECK(ty.id == type_id::decimal);
        CHECK(ty.precision == 23);
        CHECK(ty.scale == 3);
        CHECK(eval(t, b) == V{"908.000", "0.908", "NULL", "112098764.412"});
      }
    }
  }
}

SCENARIO("Nexmark q2: MOD(auction, 123) = 0 filters a batch", "[expr]") {
  auto b = rows{}
               .col("auction", i64,
                    {i(0), i(5), i(123), i(246), S::value_type{}, i(-123)})
               .batch();
  tree t;
  auto m =
      t.add_call("MOD", {}, {t.add_column(0, i64), t.add_literal(i(123), i32)});
  t.root = t.add_call("=", {}, {m, t.add_literal(i(0), i32)});
  auto p = program::compile(t, *b.row_schema(), fns);
  REQUIRE(p);
  eval_context ctx;
  p->filter(b, ctx);
  REQUIRE_FALSE(b.all_selected());
  CHECK(std::vector<uint32_t>(b.selection().begin(), b.selection().end()) ==
        std::vector<uint32_t>{0, 2, 3, 5});
  // Evaluating again over the narrowed batch sees only those rows.
  p->filter(b, ctx);
  CHECK(b.active_rows() == 4);
}

SCENARIO("AND and OR follow three-valued logic", "[expr]") {
  std::optional<scalar> T = scalar{true}, F = scalar{false}, N;
  auto b = rows{}
               .col("a", boolean, {T, T, T, F, F, F, N, N, N})
               .col("b", boolean, {T, F, N, T, F, N, T, F, N})
               .batch();
  tree and_t;
  and_t.root = and_t.add_op(
      op::and_, {},
      {and_t.add_column(0, boolean), and_t.add_column(1, boolean)});
  CHECK(eval(and_t, b) == V{"TRUE", "FALSE", "NULL", "FALSE", "FALSE", "FALSE",
                            "NULL", "FALSE", "NULL"});
  tree or_t;
  or_t.root = or_t.add_op(
      op::or_, {}, {or_t.add_column(0, boolean), or_t.add_column(1, boolean)});
  CHECK(eval(or_t, b) == V{"TRUE", "TRUE", "TRUE", "TRUE", "FALSE", "NULL",
                           "TRUE", "NULL", "NULL"});
  tree not_t;
  not_t.root = not_t.add_op(op::not_, {}, {not_t.add_column(1, boolean)});
  CHECK(eval(not_t, b) == V{"FALSE", "TRUE", "NULL", "FALSE", "TRUE", "NULL",
                            "FALSE", "TRUE", "NULL"});
}

SCENARIO("AND evaluates its right side only where the left is not FALSE",
         "[expr]") {
  auto b = rows{}
               .col("a", i64, {i(10), i(7), i(3)})
               .col("b", i64, {i(2), i(0), i(0)})
               .batch();
  // b <> 0 AND a / b > 1
  tree t;
  auto a = t.add_column(0, i64);
  auto bb = t.add_column(1, i64);
  auto guard = t.add_call("<>", {}, {bb, t.add_literal(i(0), i32)});
  auto div = t.add_call("/", {}, {a, bb});
  auto gt = t.add_call(">", {}, {div, t.add_literal(i(1), i32)});
  t.root = t.add_op(op::and_, {}, {guard, gt});
  eval_context ctx;
  CHECK(eval(t, b, ctx) == V{"TRUE", "FALSE", "FALSE"});
  CHECK(ctx.errors == 0);
  // Without the guard both divisions by zero count.
  tree u;
  u.root = u.add_call("/", {}, {u.add_column(0, i64), u.add_column(1, i64)});
  eval_context ctx2;
  CHECK(eval(u, b, ctx2) == V{"5", "NULL", "NULL"});
  CHECK(ctx2.errors == 2);
}

SCENARIO("CASE evaluates each branch only on its own rows", "[expr]") {
  auto b = rows{}
               .col("a", i64, {i(10), i(7), i(3), S::value_type{}})
               .col("b", i64, {i(2), i(0), i(-1), i(4)})
               .batch();
  GIVEN("CASE WHEN b = 0 THEN -1 WHEN b > 0 THEN a / b ELSE a / (b + 1) END") {
    tree t;
    auto a = t.add_column(0, i64);
    auto bb = t.add_column(1, i64);
    auto zero = t.add_literal(i(0), i32);
    auto w1 = t.add_call("=", {}, {bb, zero});
    auto t1 = t.add_call("NEG", {}, {t.add_literal(i(1), i32)});
    auto w2 = t.add_call(">", {}, {bb, zero});
    auto t2 = t.add_call("/", {}, {a, bb});
    auto plus = t.add_call("+", {}, {bb, t.add_literal(i(1), i32)});
    auto e = t.add_call("/", {}, {a, plus}); // divides by zero where b = -1
    t.root = t.add_op(op::case_when, {}, {w1, t1, w2, t2, e});
    THEN("the ELSE divides by zero on row 3 only, and only that counts") {
      eval_context ctx;
      CHECK(eval(t, b, ctx) == V{"5", "-1", "NULL", "NULL"});
      CHECK(ctx.errors == 1);
    }
  }
  GIVEN("CASE WHEN b <> 0 THEN a / b END (no ELSE)") {
    tree t;
    auto bb = t.add_column(1, i64);
    auto w = t.add_call("<>", {}, {bb, t.add_literal(i(0), i32)});
    t.root = t.add_op(op::case_when, {},
                      {w, t.add_call("/", {}, {t.add_column(0, i64), bb})});
    THEN("rows no WHEN takes are NULL and nothing counts as an error") {
      eval_context ctx;
      CHECK(eval(t, b, ctx) == V{"5", "NULL", "-3", "NULL"});
      CHECK(ctx.errors == 0);
    }
  }
  GIVEN("a CASE of strings") {
    tree t;
    auto w =
        t.add_call(">", {}, {t.add_column(1, i64), t.add_literal(i(0), i32)});
    t.root = t.add_op(
        op::case_when, {},
        {w, t.add_literal(s("pos"), str), t.add_literal(s("not pos"), str)});
    CHECK(eval(t, b) == V{"pos", "not pos", "not pos", "pos"});
  }
  GIVEN("IF(b <> 0, a / b, 0) is lazy as CASE") {
    tree t;
    auto bb = t.add_column(1, i64);
    auto c = t.add_call("<>", {}, {bb, t.add_literal(i(0), i32)});
    t.root = t.add_call("IF", {},
                        {c, t.add_call("/", {}, {t.add_column(0, i64), bb}),
                         t.add_literal(i(0), i32)});
    eval_context ctx;
    CHECK(eval(t, b, ctx) == V{"5", "0", "-3", "NULL"});
    CHECK(ctx.errors == 0);
  }
}

SCENARIO("a selection limits what is evaluated", "[expr]") {
  auto b = rows{}
               .col("a", i64, {i(1), i(2), i(3)})
               .col("b", i64, {i(0), i(1), i(0)})
               .batch();
  b.set_selection({1});
  tree t;
  t.root = t.add_call("/", {}, {t.add_column(0, i64), t.add_column(1, i64)});
  eval_context ctx;
  CHECK(eval(t, b, ctx) == V{"2"});
  CHECK(ctx.errors == 0); // rows 0 and 2 divide by zero but are not active
}

SCENARIO("a selection out of order still gives each row its value", "[expr]") {
  auto b = rows{}.col("s", str, {s("a"), s("b"), s("c")}).batch();
  b.set_selection({2, 0});
  tree t;
  t.root = t.add_call("UPPER", {}, {t.add_column(0, str)});
  CHECK(eval(t, b) == V{"C", "A"});
}

SCENARIO("IS NULL, IN and BETWEEN", "[expr]") {
  auto b = rows{}.col("a", i64, {i(1), i(5), S::value_type{}, i(9)}).batch();
  tree isn;
  isn.root = isn.add_op(op::is_null, {}, {isn.add_column(0, i64)});
  CHECK(eval(isn, b) == V{"FALSE", "FALSE", "TRUE", "FALSE"});
  tree notn;
  notn.root = notn.add_op(op::is_not_null, {}, {notn.add_column(0, i64)});
  CHECK(eval(notn, b) == V{"TRUE", "TRUE", "FALSE", "TRUE"});
  tree in;
  in.root = in.add_op(op::in_list, {},
                      {in.add_column(0, i64), in.add_literal(i(1), i32),
                       in.add_literal(i(9), i32)});
  CHECK(eval(in, b) == V{"TRUE", "FALSE", "NULL", "TRUE"});
  tree in_null; // 5 IN (1, NULL) is NULL, 1 IN (1, NULL) is TRUE
  in_null.root = in_null.add_op(op::in_list, {},
                                {in_null.add_column(0, i64),
                                 in_null.add_literal(i(1), i32),
                                 in_null.add_literal(std::monostate{}, {})});
  CHECK(eval(in_null, b) == V{"TRUE", "NULL", "NULL", "NULL"});
  tree btw;
  btw.root = btw.add_op(op::between, {},
                        {btw.add_column(0, i64), btw.add_literal(i(2), i32),
                         btw.add_literal(i(9), i32)});
  CHECK(eval(btw, b) == V{"FALSE", "TRUE", "NULL", "TRUE"});
}

SCENARIO("LIKE over a column, with an escape", "[expr]") {
  auto b =
      rows{}
          .col("s", str,
               {s("apple"), s("a_b"), s("axb"), S::value_type{}, s("banana")})
          .batch();
  tree t;
  t.root = t.add_op(op::like, {},
                    {t.add_column(0, str), t.add_literal(s("a%"), str)});
  CHECK(eval(t, b) == V{"TRUE", "TRUE", "TRUE", "NULL", "FALSE"});
  tree e;
  e.root = e.add_op(op::like, {},
                    {e.add_column(0, str), e.add_literal(s("a!_b"), str),
                     e.add_literal(s("!"), str)});
  CHECK(eval(e, b) == V{"FALSE", "TRUE", "FALSE", "NULL", "FALSE"});
  tree u;
  u.root = u.add_op(op::like, {},
                    {u.add_column(0, str), u.add_literal(s("_an%a"), str)});
  CHECK(eval(u, b) == V{"FALSE", "FALSE", "FALSE", "NULL", "TRUE"});
}

TEST_CASE("CAST between every pair of types", "[expr]") {
  struct row {
    scalar v;
    data_type from;
    data_type to;
    std::string want;
    uint64_t errors = 0;
  };
  auto dec = [](uint8_t p, uint8_t sc) {
    return columnar::decimal_type(p, sc);
  };
  std::vector<row> cases = {
      {s("12"), str, i32, "12"},
      {s(" -7 "), str, i64, "-7"},
      {s("x"), str, i32, "NULL", 1},
      {s("1.5"), str, i32, "NULL", 1},
      {s("2.5"), str, f64, "2.5"},
      {s("12.345"), str, dec(5, 2), "12.35"},
      {s("true"), str, boolean, "TRUE"},
      {s("maybe"), str, boolean, "NULL", 1},
      {s("2024-02-29 13:05:09.007"), str, ts, "2024-02-29 13:05:09.007"},
      {s("2024-02-30"), str, ts, "NULL", 1},
      {i(42), i64, str, "42"},
      {i(3000000000), i64, i32, "-1294967296"}, // wraps as Java
      {i(7), i32, f64, "7"},
      {i(7), i32, dec(5, 2), "7.00"},
      {i(123456), i64, dec(5, 2), "NULL", 1}, // does not fit
      {i(0), i32, boolean, "FALSE"},
      {true, boolean, i32, "1"},
      {true, boolean, str, "TRUE"},
      {1.99, f64, i32, "1"},
      {-1.99, f64, i64, "-1"},
      {1.5, f64, str, "1.5"},
      {100.0, f64, str, "100.0"},
      {2.345, f64, dec(10, 2), "2.35"},
      {int128{12345}, dec(10, 3), dec(10, 1), "12.3"},
      {int128{12355}, dec(10, 3), dec(10, 2), "12.36"},
      {int128{-12345}, dec(10, 3), i64, "-12"},
      {int128{12500}, dec(10, 3), f64, "12.5"},
      {int128{12500}, dec(10, 3), str, "12.500"},
      {i(1709211909007), ts, str, "2024-02-29 13:05:09.007"},
      {i(1709211909007), ts, i64, "1709211909"},
      {i(1709211909), i64, ts, "2024-02-29 13:05:09.000"},
      {std::monostate{}, {}, i64, "NULL"},
      {std::monostate{}, {}, str, "NULL"},
  };
  for (auto& c : cases) {
    INFO(columnar::to_string(c.from)
         << " -> " << columnar::to_string(c.to) << " want " << c.want);
    auto b = rows{}.col("x", i64, {i(0)}).batch();
    tree t;
    t.root = t.add_op(op::cast, c.to, {t.add_literal(c.v, c.from)});
    eval_context ctx;
    CHECK(eval(t, b, ctx) == V{c.want});
    CHECK(ctx.errors == c.errors);
  }
  // What no CAST does.
  tree bad;
  bad.root = bad.add_op(op::cast, ts, {bad.add_literal(true, boolean)});
  CHECK(compile_error(bad, columnar::schema{})
            .find("cannot cast BOOLEAN to TIMESTAMP(3)") != std::string::npos);
}

TEST_CASE("numeric functions, NULL in and NULL out", "[functions]") {
  auto n = std::pair<scalar, data_type>{std::monostate{}, i64};
  auto I = [](int64_t v) {
    return std::pair<scalar, data_type>{v, i64};
  };
  auto I32 = [](int64_t v) {
    return std::pair<scalar, data_type>{v, i32};
  };
  auto D = [](double v) {
    return std::pair<scalar, data_type>{v, f64};
  };
  auto Dec = [](int128 v, uint8_t p, uint8_t sc) {
    return std::pair<scalar, data_type>{v, columnar::decimal_type(p, sc)};
  };
  CHECK(lit("ABS", {I(-5)}) == "5");
  CHECK(lit("ABS", {D(-2.5)}) == "2.5");
  CHECK(lit("ABS", {Dec(-125, 5, 2)}) == "1.25");
  CHECK(lit("ABS", {n}) == "NULL");
  CHECK(lit("NEG", {I(5)}) == "-5");
  CHECK(lit("ROUND", {D(2.5)}) == "3");
  CHECK(lit("ROUND", {D(-2.5)}) == "-3");
  CHECK(lit("ROUND", {D(1.2345), I32(2)}) == "1.23");
  CHECK(lit("ROUND", {Dec(12345, 6, 3), I32(2)}) == "12.35");
  CHECK(lit("ROUND", {Dec(-12345, 6, 3), I32(1)}) == "-12.3");
  CHECK(lit("ROUND", {I(1250), I32(-2)}) == "1300");
  CHECK(lit("ROUND", {n, I32(2)}) == "NULL");
  CHECK(lit("FLOOR", {D(-1.5)}) == "-2");
  CHECK(lit("FLOOR", {Dec(-1500, 5, 3)}) == "-2");
  CHECK(lit("CEIL", {D(1.2)}) == "2");
  CHECK(lit("CEIL", {Dec(1200, 5, 3)}) == "2");
  CHECK(lit("FLOOR", {I(7)}) == "7");
  CHECK(lit("CEIL", {n}) == "NULL");
  CHECK(lit("MOD", {I(17), I32(5)}) == "2");
  CHECK(lit("MOD", {I(-17), I32(5)}) == "-2");
  CHECK(lit("MOD", {I(17), n}) == "NULL");
  CHECK(lit("%", {I(17), I(5)}) == "2");
  CHECK(lit("MOD", {Dec(1750, 5, 2), Dec(5, 2, 0)}) == "2.50");
  CHECK(lit("POWER", {I(2), I(10)}) == "1024");
  CHECK(lit("POWER", {D(4), D(0.5)}) == "2");
  CHECK(lit("POWER", {n, D(0.5)}) == "NULL");
  CHECK(lit("/", {I(7), I(2)}) == "3"); // integer division, as Flink
  CHECK(lit("/", {D(7), I(2)}) == "3.5");
  CHECK(lit("/", {Dec(700, 3, 2), I32(3)}) ==
        "2.3333333333333"); // scale max(6, 2 + 10 + 1)
  CHECK(lit("+", {Dec(125, 3, 2), I32(1)}) == "2.25");
  CHECK(lit("-", {Dec(125, 3, 2), D(1)}) == "0.25");
  CHECK(lit("*", {I32(6), I32(7)}) == "42");
  eval_context ctx;
  CHECK(lit("/", {I(1), I(0)}, &ctx) == "NULL");
  CHECK(lit("MOD", {I(1), I(0)}, &ctx) == "NULL");
  CHECK(lit("/", {Dec(1, 1, 0), Dec(0, 1, 0)}, &ctx) == "NULL");
  CHECK(ctx.errors == 3);
  // TIMESTAMP + INTERVAL
  CHECK(lit("+", {{i(0), ts}, {i(90000), columnar::interval_type()}}) ==
        "1970-01-01 00:01:30.000");
  CHECK(lit("-", {{i(0), ts}, {i(1), columnar::interval_type()}}) ==
        "1969-12-31 23:59:59.999");
}

TEST_CASE("string functions, NULL in and NULL out", "[functions]") {
  auto S_ = [](const char* v) {
    return std::pair<scalar, data_type>{s(v), str};
  };
  auto n = std::pair<scalar, data_type>{std::monostate{}, str};
  auto I = [](int64_t v) {
    return std::pair<scalar, data_type>{v, i32};
  };
  CHECK(lit("LOWER", {S_("HeLLo")}) == "hello");
  CHECK(lit("UPPER", {S_("HeLLo")}) == "HELLO");
  CHECK(lit("LOWER", {n}) == "NULL");
  CHECK(lit("TRIM", {S_("  a b  ")}) == "a b");
  CHECK(lit("TRIM", {n}) == "NULL");
  CHECK(lit("SUBSTRING", {S_("hello"), I(2)}) == "ello");
  CHECK(lit("SUBSTRING", {S_("hello"), I(2), I(3)}) == "ell");
  CHECK(lit("SUBSTRING", {S_("hello"), I(0), I(2)}) == "he");
  CHECK(lit("SUBSTRING", {S_("hello"), I(-3), I(2)}) == "ll");
  CHECK(lit("SUBSTRING", {S_("hello"), I(9)}) == "");
  CHECK(lit("SUBSTRING", {S_("h\xc3\xa9llo"), I(2), I(2)}) == "\xc3\xa9l");
  CHECK(lit("SUBSTRING", {n, I(1)}) == "NULL");
  CHECK(lit("CONCAT", {S_("a"), S_("b"), S_("c")}) == "abc");
  CHECK(lit("CONCAT", {S_("a"), n}) == "NULL");
  CHECK(lit("CONCAT_WS", {S_("-"), S_("a"), n, S_("c")}) == "a-c");
  CHECK(lit("CONCAT_WS", {n, S_("a")}) == "NULL");
  CHECK(lit("CHAR_LENGTH", {S_("h\xc3\xa9llo")}) == "5");
  CHECK(lit("CHAR_LENGTH", {n}) == "NULL");
  CHECK(lit("REPLACE", {S_("a-b-c"), S_("-"), S_("+")}) == "a+b+c");
  CHECK(lit("REPLACE", {S_("abc"), S_(""), S_("+")}) == "abc");
  CHECK(lit("REPLACE", {n, S_("-"), S_("+")}) == "NULL");
  CHECK(lit("SPLIT_INDEX", {S_("a,b,c"), S_(","), I(1)}) == "b");
  CHECK(lit("SPLIT_INDEX", {S_("a,b,c"), S_(","), I(3)}) == "NULL");
  CHECK(lit("SPLIT_INDEX", {n, S_(","), I(0)}) == "NULL");
  CHECK(lit("REGEXP_EXTRACT", {S_("foo123bar"), S_("([a-z]+)(\\d+)"), I(2)}) ==
        "123");
  CHECK(lit("REGEXP_EXTRACT", {S_("foo123bar"), S_("\\d+")}) == "123");
  CHECK(lit("REGEXP_EXTRACT", {S_("foobar"), S_("\\d+")}) == "NULL");
  CHECK(lit("REGEXP_EXTRACT", {n, S_("\\d+")}) == "NULL");
  eval_context ctx;
  CHECK(lit("REGEXP_EXTRACT", {S_("x"), S_("(")}, &ctx) == "NULL");
  CHECK(ctx.errors == 1);
}

TEST_CASE("COALESCE, IF and NULLIF", "[functions]") {
  auto n = std::pair<scalar, data_type>{std::monostate{}, {}};
  auto I = [](int64_t v) {
    return std::pair<scalar, data_type>{v, i64};
  };
  auto S_ = [](const char* v) {
    return std::pair<scalar, data_type>{s(v), str};
  };
  CHECK(lit("COALESCE", {n, I(2), I(3)}) == "2");
  CHECK(lit("COALESCE", {n, n}) == "NULL");
  CHECK(lit("COALESCE", {n, S_("x")}) == "x");
  CHECK(lit("IF", {{true, boolean}, I(1), I(2)}) == "1");
  CHECK(lit("IF", {{false, boolean}, I(1), I(2)}) == "2");
  CHECK(lit("IF", {n, S_("a"), S_("b")}) == "b");
  CHECK(lit("NULLIF", {I(1), I(1)}) == "NULL");
  CHECK(lit("NULLIF", {I(1), I(2)}) == "1");
  CHECK(lit("NULLIF", {S_("a"), S_("a")}) == "NULL");
}

TEST_CASE("time functions", "[functions]") {
  constexpr int64_t ms = 1709211909007; // 2024-02-29 13:05:09.007
  auto T = std::pair<scalar, data_type>{ms, ts};
  auto n = std::pair<scalar, data_type>{std::monostate{}, ts};
  auto S_ = [](const char* v) {
    return std::pair<scalar, data_type>{s(v), str};
  };
  auto I = [](int64_t v) {
    return std::pair<scalar, data_type>{v, i64};
  };
  CHECK(lit("DATE_FORMAT", {T, S_("yyyy-MM-dd HH:mm:ss")}) ==
        "2024-02-29 13:05:09");
  CHECK(lit("DATE_FORMAT", {T, S_("yyyyMMdd")}) == "20240229");
  CHECK(lit("DATE_FORMAT", {S_("2024-02-29 13:05:09"), S_("dd/MM/yy")}) ==
        "29/02/24");
  CHECK(lit("DATE_FORMAT", {n, S_("yyyy")}) == "NULL");
  CHECK(lit("FROM_UNIXTIME", {I(1709211909)}) == "2024-02-29 13:05:09");
  CHECK(lit("FROM_UNIXTIME", {I(0), S_("yyyy-MM-dd")}) == "1970-01-01");
  CHECK(lit("FROM_UNIXTIME", {{std::monostate{}, i64}}) == "NULL");
  CHECK(lit("UNIX_TIMESTAMP", {S_("2024-02-29 13:05:09")}) == "1709211909");
  CHECK(lit("UNIX_TIMESTAMP", {S_("20240229"), S_("yyyyMMdd")}) ==
        "1709164800");
  CHECK(lit("TO_TIMESTAMP", {S_("2024-02-29 13:05:09")}) ==
        "2024-02-29 13:05:09.000");
  CHECK(lit("TO_TIMESTAMP", {S_("29.02.2024"), S_("dd.MM.yyyy")}) ==
        "2024-02-29 00:00:00.000");
  CHECK(lit("TO_TIMESTAMP", {{std::monostate{}, str}}) == "NULL");
  eval_context bad;
  CHECK(lit("TO_TIMESTAMP", {S_("not a time")}, &bad) == "NULL");
  CHECK(bad.errors == 1);
  eval_context now;
  now.now_ms = ms;
  CHECK(lit("CURRENT_TIMESTAMP", {}, &now) == "2024-02-29 13:05:09.007");
  CHECK(lit("PROCTIME", {}, &now) == "2024-02-29 13:05:09.007");
  CHECK(lit("UNIX_TIMESTAMP", {}, &now) == "1709211909");
  CHECK(lit("EXTRACT", {S_("YEAR"), T}) == "2024");
  CHECK(lit("EXTRACT", {S_("MONTH"), T}) == "2");
  CHECK(lit("EXTRACT", {S_("DAY"), T}) == "29");
  CHECK(lit("EXTRACT", {S_("HOUR"), T}) == "13");
  CHECK(lit("EXTRACT", {S_("MINUTE"), T}) == "5");
  CHECK(lit("EXTRACT", {S_("SECOND"), T}) == "9");
  CHECK(lit("EXTRACT", {S_("QUARTER"), T}) == "1");
  CHECK(lit("EXTRACT", {S_("DOW"), T}) == "5");
  CHECK(lit("EXTRACT", {S_("DOY"), T}) == "60");
  CHECK(lit("EXTRACT", {S_("WEEK"), T}) == "9");
  CHECK(lit("EXTRACT", {S_("YEAR"), n}) == "NULL");
  // A non-deterministic program says so.
  auto b = rows{}.col("x", i64, {i(0)}).batch();
  auto p = program::compile(call_lits("CURRENT_TIMESTAMP", {}), *b.row_schema(),
                            fns);
  REQUIRE(p);
  CHECK_FALSE(p->deterministic());
}

TEST_CASE("type resolution explains what a function expects", "[functions]") {
  auto f = fns.find("SUBSTRING");
  REQUIRE(f != nullptr);
  std::vector<data_type> args{i64};
  auto r = f->resolve(args);
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).find(
            "SUBSTRING expects (STRING, INT[, INT]), got (BIGINT)") !=
        std::string::npos);
  std::vector<data_type> ok{str, i32};
  REQUIRE(f->resolve(ok));
  CHECK(f->resolve(ok)->id == type_id::string);
  auto concat = fns.find("CONCAT");
  std::vector<data_type> mixed{str, i64};
  REQUIRE_FALSE(concat->resolve(mixed));
  auto eq = fns.find("=");
  std::vector<data_type> str_int{str, i64};
  auto e = eq->resolve(str_int);
  REQUIRE_FALSE(e);
  CHECK(describe(e.error()).find("cannot compare STRING with BIGINT") !=
        std::string::npos);
  auto plus = fns.find("+");
  std::vector<data_type> ii{i32, i64};
  CHECK(plus->resolve(ii)->id == type_id::int64);
  std::vector<data_type> id{i32, f64};
  CHECK(plus->resolve(id)->id == type_id::float64);
  // ROUND's type depends on its constant.
  auto round = fns.find("ROUND");
  std::vector<data_type> rd{columnar::decimal_type(10, 4), i32};
  scalar two = int64_t{2};
  std::vector<const scalar*> consts{nullptr, &two};
  auto rt = resolve_call(*round, rd, consts);
  REQUIRE(rt);
  CHECK(rt->precision == 9);
  CHECK(rt->scale == 2);
  // EXTRACT checks its unit when it is a literal.
  tree t = call_lits("EXTRACT", {{s("FORTNIGHT"), str}, {i(0), ts}});
  CHECK(compile_error(t, columnar::schema{})
            .find("EXTRACT does not know the unit FORTNIGHT") !=
        std::string::npos);
  tree u = call_lits("NO_SUCH_FN", {{i(0), i64}});
  CHECK(compile_error(u, columnar::schema{})
            .find("unknown function NO_SUCH_FN") != std::string::npos);
  // Every function of issue 7 is there.
  for (auto name : {"LOWER",          "UPPER",        "TRIM",
                    "SUBSTRING",      "CONCAT",       "CONCAT_WS",
                    "CHAR_LENGTH",    "REPLACE",      "REGEXP_EXTRACT",
                    "SPLIT_INDEX",    "ABS",          "ROUND",
                    "FLOOR",          "CEIL",         "MOD",
                    "POWER",          "COALESCE",     "IF",
                    "NULLIF",         "DATE_FORMAT",  "FROM_UNIXTIME",
                    "UNIX_TIMESTAMP", "TO_TIMESTAMP", "CURRENT_TIMESTAMP",
                    "EXTRACT",        "PROCTIME"})
    CHECK(fns.find(name) != nullptr);
}

TEST_CASE("an embedder's per-value C++ function", "[functions]") {
  auto reg = function_registry::builtin();
  reg.add_scalar("TAG", [](int64_t x, std::string_view s) {
    return std::string{s} + "#" + std::to_string(x);
  });
  reg.add_scalar("IS_EVEN", [](int64_t x) { return x % 2 == 0; });
  auto b = rows{}
               .col("n", i32, {i(1), i(2), S::value_type{}})
               .col("s", str, {s("a"), s("b"), s("c")})
               .batch();
  tree t;
  t.root = t.add_call("TAG", {}, {t.add_column(0, i32), t.add_column(1, str)});
  eval_context ctx;
  CHECK(eval(t, b, ctx, reg) == V{"a#1", "b#2", "NULL"});
  tree e;
  e.root = e.add_call("IS_EVEN", {}, {e.add_column(0, i32)});
  CHECK(eval(e, b, ctx, reg) == V{"FALSE", "TRUE", "NULL"});
  auto f = reg.find("TAG");
  std::vector<data_type> wrong{str, str};
  auto r = f->resolve(wrong);
  REQUIRE_FALSE(r);
  CHECK(describe(r.error()).find("TAG expects (BIGINT, STRING), got "
                                 "(STRING, STRING)") != std::string::npos);
}

TEST_CASE("an embedder's vectorized C++ function", "[functions]") {
  auto reg = function_registry::builtin();
  function_def f;
  f.name = "TWICE";
  f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
    if (got.size() != 1 || got[0].id != type_id::int64)
      return signature_error("TWICE", "(BIGINT)", got);
    return got[0];
  };
  static int calls = 0;
  calls = 0;
  f.bind = [](std::span<const data_type>, const data_type&) -> kernel_fn {
    return [](std::span<const columnar::column* const> args,
              std::span<const uint32_t> rows, columnar::column& out,
              eval_context& ctx) {
      ++calls;
      prepare_fixed(out, ctx.batch_rows);
      auto in = args[0]->values<int64_t>();
      auto o = out.values_mut<int64_t>();
      for (auto i : rows) {
        if (args[0]->valid(i))
          o[i] = 2 * in[i];
        else
          out.set_null(i);
      }
    };
  };
  reg.add_vectorized(std::move(f));
  auto b = rows{}.col("n", i64, {i(1), i(2), S::value_type{}, i(4)}).batch();
  tree t;
  t.root = t.add_call("TWICE", {}, {t.add_column(0, i64)});
  CHECK(eval(t, b, *std::make_unique<eval_context>(), reg) ==
        V{"2", "4", "NULL", "8"});
  CHECK(calls == 1); // one call for the whole batch
}

TEST_CASE("expression trees travel through CAF and render", "[expr]") {
  tree t;
  auto factor = t.add_literal(int128{908}, decimal::literal_type("0.908"));
  auto price = t.add_column(0, i64);
  auto mul = t.add_call("*", columnar::decimal_type(23, 3), {factor, price});
  auto big = t.add_literal(int128{1} << 100, columnar::decimal_type(38, 0));
  auto name = t.add_literal(s("x"), str);
  auto gt = t.add_call(">", boolean, {mul, big});
  auto like = t.add_op(op::like, boolean, {t.add_column(1, str), name});
  t.root = t.add_op(op::and_, boolean, {gt, like});
  REQUIRE(well_formed(t));
  CHECK(
      to_string(t, {"price", "url"}) ==
      "(((0.908 * price) > 1267650600228229401496703205376) AND url LIKE 'x')");
  auto in = columnar::make_schema({{"price", i64}, {"url", str}});
  CHECK(to_string(t, *in) == to_string(t, {"price", "url"}));
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE(!sink(t));
  tree copy;
  caf::binary_deserializer source{nullptr, buf};
  REQUIRE(!source(copy));
  CHECK(copy.root == t.root);
  REQUIRE(copy.nodes.size() == t.nodes.size());
  CHECK(copy.nodes[mul].type == t.nodes[mul].type);
  CHECK(copy.nodes[mul].function == "*");
  CHECK(copy.literals == t.literals);
  tree cyclic;
  cyclic.root = cyclic.add_op(op::not_, boolean, {0});
  CHECK_FALSE(well_formed(cyclic));
}

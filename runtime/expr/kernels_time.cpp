#include <optional>
#include <string>

#include <fmt/format.h>

#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"
#include "runtime/expr/time_util.hpp"

// The session time zone is UTC. Patterns are Java SimpleDateFormat's
// letters (time_util.hpp), compiled once per batch while they stay the
// same. A pattern that does not compile, or a text that does not parse,
// gives NULL and counts an error.

namespace sluice::expr::kernels {

namespace {

using namespace util;

/// The last pattern seen in a batch, compiled.
class pattern_cache {
 public:
  const time::pattern* get(std::string_view text) {
    if (!have_ || text != last_) {
      last_.assign(text);
      p_ = time::compile(text);
      have_ = true;
    }
    return p_ ? &*p_ : nullptr;
  }

 private:
  bool have_ = false;
  std::string last_;
  std::optional<time::pattern> p_;
};

const time::pattern& default_pattern() {
  static const auto p = *time::compile(time::default_pattern);
  return p;
}

void date_format(args_t args, rows_t rows, column& out, eval_context& ctx) {
  auto ts = args[0]->values<int64_t>();
  pattern_cache cache;
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto* p = cache.get(args[1]->str(i));
    if (p == nullptr) {
      ++ctx.errors;
      return false;
    }
    time::format(ts[i], *p, buf);
    return true;
  });
}

void from_unixtime(args_t args, rows_t rows, column& out, eval_context& ctx) {
  auto secs = args[0]->values<int64_t>();
  pattern_cache cache;
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    const time::pattern* p = &default_pattern();
    if (args.size() > 1)
      p = cache.get(args[1]->str(i));
    if (p == nullptr) {
      ++ctx.errors;
      return false;
    }
    time::format(secs[i] * 1000, *p, buf);
    return true;
  });
}

/// Parses args[0] with the pattern args[1] (or `fallback`): milliseconds.
template <class Out, class Conv>
void parse_time(args_t args, rows_t rows, column& out, eval_context& ctx,
                Conv conv) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<Out>();
  pattern_cache cache;
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    std::optional<int64_t> ms;
    auto text = args[0]->str(i);
    if (args.size() > 1) {
      if (auto* p = cache.get(args[1]->str(i)))
        ms = time::parse(text, *p);
    } else {
      ms = time::parse_sql(text);
    }
    if (!ms) {
      ++ctx.errors;
      out.set_null(i);
      return;
    }
    o[i] = conv(*ms);
  });
}

void to_timestamp(args_t args, rows_t rows, column& out, eval_context& ctx) {
  parse_time<int64_t>(args, rows, out, ctx, [](int64_t ms) { return ms; });
}

void unix_timestamp(args_t args, rows_t rows, column& out, eval_context& ctx) {
  if (args.empty()) {
    prepare_fixed(out, ctx.batch_rows);
    auto o = out.values_mut<int64_t>();
    for (auto i : rows)
      o[i] = time::floor_div(ctx.now_ms, 1000);
    return;
  }
  parse_time<int64_t>(args, rows, out, ctx,
                      [](int64_t ms) { return time::floor_div(ms, 1000); });
}

void now(args_t, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<int64_t>();
  for (auto i : rows)
    o[i] = ctx.now_ms;
}

void extract(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<int64_t>();
  auto ts = args[1]->values<int64_t>();
  std::string last;
  std::optional<time::field> f;
  bool have = false;
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    auto unit = args[0]->str(i);
    if (!have || unit != last) {
      last.assign(unit);
      for (auto& c : last)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      f = time::parse_field(last);
      last.assign(unit);
      have = true;
    }
    if (!f) {
      ++ctx.errors;
      out.set_null(i);
      return;
    }
    o[i] = time::extract(*f, ts[i]);
  });
}

} // namespace

void add_time(function_registry& r) {
  auto str = columnar::string_type(false);
  {
    // DATE_FORMAT takes a TIMESTAMP or a STRING in the SQL form.
    auto f = simple_def("DATE_FORMAT", "(TIMESTAMP, STRING)", "XS", 2, str,
                        date_format);
    f.resolve = [](std::span<const data_type> got) -> caf::expected<data_type> {
      if (got.size() != 2 ||
          !(got[0].id == type_id::timestamp || got[0].id == type_id::string ||
            is_null(got[0])) ||
          !(got[1].id == type_id::string || is_null(got[1])))
        return signature_error("DATE_FORMAT", "(TIMESTAMP, STRING)", got);
      // A STRING argument that does not parse gives NULL.
      return columnar::string_type(any_nullable(got) ||
                                   got[0].id == type_id::string);
    };
    f.coerce = [](std::span<const data_type> got) {
      return std::vector<data_type>{columnar::timestamp_type(got[0].nullable),
                                    columnar::string_type(got[1].nullable)};
    };
    r.add(std::move(f));
  }
  r.add(simple_def("FROM_UNIXTIME", "(BIGINT[, STRING])", "IS", 1, str,
                   from_unixtime));
  r.add(simple_def("UNIX_TIMESTAMP", "([STRING[, STRING]])", "SS", 0,
                   columnar::int64_type(true), unix_timestamp));
  r.add(simple_def("TO_TIMESTAMP", "(STRING[, STRING])", "SS", 1,
                   columnar::timestamp_type(true), to_timestamp));
  for (auto name : {"CURRENT_TIMESTAMP", "NOW", "LOCALTIMESTAMP", "PROCTIME"}) {
    auto f =
        simple_def(name, "()", "", 0, columnar::timestamp_type(false), now);
    f.deterministic = false;
    r.add(std::move(f));
  }
  {
    auto f = simple_def("EXTRACT", "(unit, TIMESTAMP)", "ST", 2,
                        columnar::int64_type(false), extract);
    auto inner = f.resolve;
    f.resolve_const =
        [inner](std::span<const data_type> got,
                std::span<const scalar* const> c) -> caf::expected<data_type> {
      auto t = inner(got);
      if (!t || c.empty() || c[0] == nullptr)
        return t;
      if (auto* unit = std::get_if<std::string>(c[0])) {
        std::string u = *unit;
        for (auto& ch : u)
          ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (!time::parse_field(u))
          return type_error(fmt::format(
              "EXTRACT does not know the unit {}: expected YEAR, QUARTER, "
              "MONTH, WEEK, DAY, DOY, DOW, HOUR, MINUTE, SECOND, MILLISECOND "
              "or EPOCH",
              *unit));
      }
      return t;
    };
    r.add(std::move(f));
  }
}

} // namespace sluice::expr::kernels

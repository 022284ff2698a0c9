#include <memory>
#include <optional>
#include <string>

#include <re2/re2.h>

#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"
#include "runtime/expr/like.hpp"

// Patterns are compiled once per batch while they stay the same (a
// literal pattern: once per batch). A pattern that does not compile gives
// NULL and counts an error.

namespace sluice::expr::kernels {

namespace {

using namespace util;

// REGEXP_EXTRACT(s, regex[, k]): group k (0 = the whole match) of the first
// match of regex anywhere in s; NULL when nothing matches.
void regexp_extract(args_t args, rows_t rows, column& out, eval_context& ctx) {
  std::span<const int64_t> idx;
  if (args.size() > 2)
    idx = args[2]->values<int64_t>();
  std::string last;
  std::unique_ptr<re2::RE2> re;
  bool have = false;
  std::vector<re2::StringPiece> groups;
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto pattern = args[1]->str(i);
    if (!have || pattern != last) {
      last.assign(pattern);
      re2::RE2::Options opts;
      opts.set_log_errors(false);
      re = std::make_unique<re2::RE2>(last, opts);
      have = true;
    }
    if (!re->ok()) {
      ++ctx.errors;
      return false;
    }
    auto k = idx.empty() ? 0 : idx[i];
    if (k < 0 || k > re->NumberOfCapturingGroups())
      return false;
    auto s = args[0]->str(i);
    groups.assign(static_cast<size_t>(k) + 1, re2::StringPiece{});
    if (!re->Match(re2::StringPiece{s.data(), s.size()}, 0, s.size(),
                   re2::RE2::UNANCHORED, groups.data(),
                   static_cast<int>(groups.size())))
      return false;
    auto& g = groups[static_cast<size_t>(k)];
    if (g.data() == nullptr)
      return false;
    buf.assign(g.data(), g.size());
    return true;
  });
}

} // namespace

void like(std::span<const columnar::column* const> args,
          std::span<const uint32_t> rows, columnar::column& out,
          eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<uint8_t>();
  std::string last_pattern;
  std::string last_escape;
  std::optional<like_matcher> m;
  bool have = false;
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    auto p = args[1]->str(i);
    std::string_view esc;
    if (args.size() > 2)
      esc = args[2]->str(i);
    if (!have || p != last_pattern || esc != last_escape) {
      last_pattern.assign(p);
      last_escape.assign(esc);
      m = like_matcher::make(p, esc);
      have = true;
    }
    if (!m) {
      ++ctx.errors;
      out.set_null(i);
      return;
    }
    o[i] = m->match(args[0]->str(i)) ? 1 : 0;
  });
}

void add_regex(function_registry& r) {
  r.add(simple_def("REGEXP_EXTRACT", "(STRING, STRING[, INT])", "SSI", 2,
                   columnar::string_type(true), regexp_extract));
  // LIKE as a function too (the op::like node uses the same kernel).
  r.add(simple_def("LIKE", "(STRING, STRING[, STRING])", "SSS", 2,
                   columnar::boolean_type(false), like));
}

} // namespace sluice::expr::kernels

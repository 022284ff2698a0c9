#include <algorithm>
#include <limits>

#include "runtime/expr/kernel_util.hpp"
#include "runtime/expr/kernels.hpp"

// Strings are UTF-8. LOWER and UPPER change ASCII letters only; lengths
// and positions (CHAR_LENGTH, SUBSTRING) count code points.

namespace sluice::expr::kernels {

namespace {

using namespace util;

/// Byte offset of code point `k` in `s` (s.size() when past the end).
size_t byte_at(std::string_view s, size_t k) {
  size_t pos = 0;
  while (k > 0 && pos < s.size()) {
    pos += utf8_len(static_cast<unsigned char>(s[pos]));
    --k;
  }
  return std::min(pos, s.size());
}

void lower(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    buf.assign(s);
    for (auto& c : buf)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c + 32);
    return true;
  });
}

void upper(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    buf.assign(s);
    for (auto& c : buf)
      if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 32);
    return true;
  });
}

template <bool Left, bool Right>
void trim(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    std::string_view chars = " ";
    if (args.size() > 1)
      chars = args[1]->str(i);
    while (Left && !s.empty() && chars.find(s.front()) != chars.npos)
      s.remove_prefix(1);
    while (Right && !s.empty() && chars.find(s.back()) != chars.npos)
      s.remove_suffix(1);
    buf.assign(s);
    return true;
  });
}

// Flink's SUBSTRING: position 1 is the first character, 0 counts as 1, a
// negative position counts from the end; a negative length gives NULL.
void substring(args_t args, rows_t rows, column& out, eval_context& ctx) {
  auto pos = args[1]->values<int64_t>();
  std::span<const int64_t> len;
  if (args.size() > 2)
    len = args[2]->values<int64_t>();
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    int64_t n = std::numeric_limits<int32_t>::max();
    if (!len.empty())
      n = len[i];
    if (n < 0)
      return false;
    auto chars = static_cast<int64_t>(utf8_count(s));
    int64_t start;
    if (pos[i] > 0) {
      start = pos[i] - 1;
      if (start >= chars)
        return true;
    } else if (pos[i] < 0) {
      start = chars + pos[i];
      if (start < 0)
        return true;
    } else {
      start = 0;
    }
    auto end = chars - start < n ? chars : start + n;
    auto b = byte_at(s, static_cast<size_t>(start));
    auto e = byte_at(s, static_cast<size_t>(end));
    buf.assign(s.substr(b, e - b));
    return true;
  });
}

void concat(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    for (auto* a : args)
      buf += a->str(i);
    return true;
  });
}

// CONCAT_WS skips NULL strings; a NULL separator gives NULL.
void concat_ws(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_builder b{out, ctx.batch_rows};
  std::string buf;
  for (auto i : rows) {
    if (!args[0]->valid(i)) {
      b.put_null(i);
      continue;
    }
    buf.clear();
    auto sep = args[0]->str(i);
    bool first = true;
    for (size_t k = 1; k < args.size(); ++k) {
      if (!args[k]->valid(i))
        continue;
      if (!first)
        buf += sep;
      buf += args[k]->str(i);
      first = false;
    }
    b.put(i, buf);
  }
}

void char_length(args_t args, rows_t rows, column& out, eval_context& ctx) {
  prepare_fixed(out, ctx.batch_rows);
  auto o = out.values_mut<int32_t>();
  valid_rows(args, rows, out, ctx.batch_rows, [&](uint32_t i) {
    o[i] = static_cast<int32_t>(utf8_count(args[0]->str(i)));
  });
}

void replace(args_t args, rows_t rows, column& out, eval_context& ctx) {
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    auto from = args[1]->str(i);
    auto to = args[2]->str(i);
    if (from.empty()) {
      buf.assign(s);
      return true;
    }
    size_t pos = 0;
    for (;;) {
      auto hit = s.find(from, pos);
      if (hit == s.npos)
        break;
      buf += s.substr(pos, hit - pos);
      buf += to;
      pos = hit + from.size();
    }
    buf += s.substr(pos);
    return true;
  });
}

// SPLIT_INDEX(s, sep, k): the k-th (from 0) piece of s split at sep; NULL
// when there is no such piece, k is negative or sep is empty.
void split_index(args_t args, rows_t rows, column& out, eval_context& ctx) {
  auto idx = args[2]->values<int64_t>();
  string_rows(args, rows, out, ctx, [&](uint32_t i, std::string& buf) {
    auto s = args[0]->str(i);
    auto sep = args[1]->str(i);
    auto k = idx[i];
    if (sep.empty() || k < 0)
      return false;
    size_t pos = 0;
    for (int64_t n = 0;; ++n) {
      auto hit = s.find(sep, pos);
      if (n == k) {
        buf.assign(s.substr(pos, hit == s.npos ? s.npos : hit - pos));
        return true;
      }
      if (hit == s.npos)
        return false;
      pos = hit + sep.size();
    }
  });
}

} // namespace

void add_string(function_registry& r) {
  auto str = columnar::string_type(false);
  r.add(simple_def("LOWER", "(STRING)", "S", 1, str, lower));
  r.add(simple_def("UPPER", "(STRING)", "S", 1, str, upper));
  r.add(
      simple_def("TRIM", "(STRING[, STRING])", "SS", 1, str, trim<true, true>));
  r.add(simple_def("LTRIM", "(STRING[, STRING])", "SS", 1, str,
                   trim<true, false>));
  r.add(simple_def("RTRIM", "(STRING[, STRING])", "SS", 1, str,
                   trim<false, true>));
  r.add(simple_def("SUBSTRING", "(STRING, INT[, INT])", "SII", 2,
                   columnar::string_type(true), substring));
  r.add(simple_def("CONCAT", "(STRING, ...)", "S*", 1, str, concat));
  r.add(simple_def("||", "(STRING, STRING)", "SS", 2, str, concat));
  // CONCAT_WS is NULL only when the separator is.
  auto ws = simple_def("CONCAT_WS", "(STRING, STRING, ...)", "SS*", 2, str,
                       concat_ws);
  ws.resolve = [inner = ws.resolve](
                   std::span<const data_type> got) -> caf::expected<data_type> {
    auto t = inner(got);
    if (t)
      t->nullable = got[0].nullable;
    return t;
  };
  r.add(std::move(ws));
  r.add(simple_def("CHAR_LENGTH", "(STRING)", "S", 1,
                   columnar::int32_type(false), char_length));
  r.add(simple_def("REPLACE", "(STRING, STRING, STRING)", "SSS", 3, str,
                   replace));
  r.add(simple_def("SPLIT_INDEX", "(STRING, STRING, INT)", "SSI", 3,
                   columnar::string_type(true), split_index));
}

} // namespace sluice::expr::kernels

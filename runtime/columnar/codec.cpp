#include "runtime/columnar/codec.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/crc32c.hpp"
#include "runtime/errors.hpp"

static_assert(std::endian::native == std::endian::little,
              "the row batch encoding is little-endian");

namespace sluice::columnar {

namespace detail {

/// The codec's access to a batch's insides: it fills columns in place.
struct codec_access {
  static std::vector<column>& columns(row_batch& b) noexcept { return b.cols_; }
  static const schema_ptr& schema(const row_batch& b) noexcept {
    return b.schema_;
  }
  static void set_schema(row_batch& b, schema_ptr s) noexcept {
    b.schema_ = std::move(s);
  }
  static void set_rows(row_batch& b, size_t rows) noexcept { b.rows_ = rows; }
  static std::vector<row_kind>& kinds(row_batch& b) noexcept {
    return b.kinds_;
  }
};

} // namespace detail

namespace {

using detail::codec_access;

constexpr size_t header_size = 4 + 2 + 2 + 4 + 4;
constexpr size_t crc_size = 4;
constexpr size_t column_header_size = 1 + 1 + 1 + 1 + 2;
constexpr size_t max_name = 65535;

/// The rows to write: every row, or the selection.
struct row_set {
  std::span<const uint32_t> sel;
  size_t n = 0;
  bool all = true;

  explicit row_set(const row_batch& b)
      : sel(b.selection()), n(b.active_rows()), all(b.all_selected()) {}

  uint32_t operator[](size_t k) const noexcept {
    return all ? static_cast<uint32_t>(k) : sel[k];
  }
};

size_t string_bytes(const column& c, const row_set& rows) noexcept {
  if (rows.all)
    return c.data().size();
  size_t total = 0;
  auto& off = c.offsets();
  for (auto r : rows.sel)
    total += off[r + 1] - off[r];
  return total;
}

size_t column_size(const column& c, std::string_view name,
                   const row_set& rows) noexcept {
  size_t n = column_header_size + std::min(name.size(), max_name) + 4;
  if (c.has_nulls())
    n += column::validity_words(rows.n) * 8;
  if (c.type().id == type_id::string)
    n += (rows.n + 1) * 4 + 4 + string_bytes(c, rows);
  else
    n += rows.n * fixed_width(c.type().id);
  return n;
}

struct writer {
  char* p;

  template <class T>
  void put(T v) noexcept {
    std::memcpy(p, &v, sizeof(T));
    p += sizeof(T);
  }

  void bytes(const void* d, size_t n) noexcept {
    if (n > 0)
      std::memcpy(p, d, n);
    p += n;
  }
};

void write_column(writer& w, const column& c, std::string_view name,
                  const row_set& rows) {
  auto& t = c.type();
  auto len = std::min(name.size(), max_name);
  w.put<uint8_t>(static_cast<uint8_t>(t.id));
  w.put<uint8_t>(t.precision);
  w.put<uint8_t>(t.scale);
  w.put<uint8_t>(t.nullable ? 1 : 0);
  w.put<uint16_t>(static_cast<uint16_t>(len));
  w.bytes(name.data(), len);
  if (!c.has_nulls()) {
    w.put<uint32_t>(0);
  } else {
    auto words = column::validity_words(rows.n);
    w.put<uint32_t>(static_cast<uint32_t>(words));
    if (rows.all) {
      w.bytes(c.validity().data(), words * 8);
    } else {
      for (size_t base = 0; base < rows.n; base += 64) {
        uint64_t word = 0;
        auto end = std::min(rows.n, base + 64);
        for (size_t k = base; k < end; ++k)
          word |= uint64_t{c.valid(rows.sel[k])} << (k - base);
        w.put<uint64_t>(word);
      }
    }
  }
  if (t.id == type_id::string) {
    auto& off = c.offsets();
    if (rows.all) {
      w.bytes(off.data(), off.size() * 4);
      w.put<uint32_t>(static_cast<uint32_t>(c.data().size()));
      w.bytes(c.data().data(), c.data().size());
      return;
    }
    uint32_t pos = 0;
    w.put<uint32_t>(0);
    for (auto r : rows.sel) {
      pos += off[r + 1] - off[r];
      w.put<uint32_t>(pos);
    }
    w.put<uint32_t>(pos);
    for (auto r : rows.sel)
      w.bytes(c.data().data() + off[r], off[r + 1] - off[r]);
    return;
  }
  auto width = fixed_width(t.id);
  if (rows.all) {
    w.bytes(c.data().data(), rows.n * width);
    return;
  }
  const char* src = c.data().data();
  for (auto r : rows.sel)
    w.bytes(src + size_t{r} * width, width);
}

caf::error corrupt(std::string what) {
  return make_error(channel_errc::corrupt_log, "row batch: " + what);
}

/// Reads the encoding front to back; every read is checked against the end.
struct reader {
  const char* p;
  const char* end;

  size_t left() const noexcept { return static_cast<size_t>(end - p); }

  template <class T>
  bool get(T& v) noexcept {
    if (left() < sizeof(T))
      return false;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return true;
  }

  bool take(size_t n, const char*& out) noexcept {
    if (left() < n)
      return false;
    out = p;
    p += n;
    return true;
  }
};

bool valid_type(const data_type& t) noexcept {
  switch (t.id) {
  case type_id::decimal:
    return t.precision >= 1 && t.precision <= max_decimal_precision &&
           t.scale <= t.precision;
  case type_id::timestamp:
    return t.precision <= 9 && t.scale == 0;
  default:
    return t.precision == 0 && t.scale == 0;
  }
}

template <class T>
void assign(std::vector<T>& v, const char* p, size_t n) {
  v.resize(n);
  if (n > 0)
    std::memcpy(v.data(), p, n * sizeof(T));
}

caf::error decode_columns(reader& r, row_batch& out, uint32_t rows,
                          uint32_t ncols, uint16_t flags) {
  int32_t rowtime = -1;
  if ((flags & codec_has_rowtime) != 0) {
    if (!r.get(rowtime))
      return corrupt("truncated header");
    if (rowtime < 0 || static_cast<uint32_t>(rowtime) >= ncols)
      return corrupt("rowtime out of range");
  }
  // Each column takes at least its header and validity count: a count
  // beyond that is damage, refused before anything is allocated.
  if (ncols > r.left() / (column_header_size + 4))
    return corrupt("column count exceeds the input");
  auto& old = codec_access::schema(out);
  bool same = old && old->fields.size() == ncols && old->rowtime == rowtime;
  std::vector<field> fields;
  if (!same)
    fields.reserve(ncols);
  auto& cols = codec_access::columns(out);
  cols.resize(ncols);
  for (uint32_t i = 0; i < ncols; ++i) {
    uint8_t id, precision, scale, nullable;
    uint16_t name_len;
    const char* name = nullptr;
    if (!r.get(id) || !r.get(precision) || !r.get(scale) || !r.get(nullable) ||
        !r.get(name_len) || !r.take(name_len, name))
      return corrupt("truncated column header");
    if (id > max_type_id)
      return corrupt("unknown type " + std::to_string(id));
    if (nullable > 1)
      return corrupt("bad nullable byte");
    data_type t{static_cast<type_id>(id), precision, scale, nullable == 1};
    if (!valid_type(t))
      return corrupt("bad type parameters of " + to_string(t));
    std::string_view nm{name, name_len};
    if (same && !(old->fields[i].type == t && old->fields[i].name == nm)) {
      same = false;
      fields.reserve(ncols);
      fields.assign(old->fields.begin(), old->fields.begin() + i);
    }
    if (!same)
      fields.push_back(field{std::string{nm}, t});
    auto& c = cols[i];
    c.reset(t);
    uint32_t words;
    const char* p = nullptr;
    if (!r.get(words))
      return corrupt("truncated validity");
    if (words != 0 && words != column::validity_words(rows))
      return corrupt("validity size mismatch");
    if (!r.take(size_t{words} * 8, p))
      return corrupt("truncated validity");
    assign(c.validity(), p, words);
    if (t.id == type_id::string) {
      uint32_t nbytes;
      if (!r.take((size_t{rows} + 1) * 4, p))
        return corrupt("truncated string offsets");
      assign(c.offsets(), p, size_t{rows} + 1);
      if (!r.get(nbytes) || !r.take(nbytes, p))
        return corrupt("truncated string bytes");
      assign(c.data(), p, nbytes);
    } else {
      auto n = size_t{rows} * fixed_width(t.id);
      if (!r.take(n, p))
        return corrupt("truncated values");
      assign(c.data(), p, n);
    }
    c.set_size(rows);
  }
  if (!same)
    codec_access::set_schema(out, make_schema(std::move(fields), rowtime));
  return {};
}

} // namespace

size_t encoded_size(const row_batch& b) noexcept {
  row_set rows{b};
  size_t n = header_size + crc_size;
  auto& s = b.row_schema();
  if (s && s->rowtime >= 0)
    n += 4;
  for (size_t i = 0; i < b.num_columns(); ++i)
    n += column_size(b.col(i), s->fields[i].name, rows);
  if (!b.kinds().empty())
    n += rows.n;
  return n;
}

void encode(const row_batch& b, std::vector<char>& out) {
  row_set rows{b};
  auto start = out.size();
  out.resize(start + encoded_size(b));
  writer w{out.data() + start};
  auto& s = b.row_schema();
  uint16_t flags = 0;
  if (!b.kinds().empty())
    flags |= codec_has_kinds;
  if (s && s->rowtime >= 0)
    flags |= codec_has_rowtime;
  w.bytes(codec_magic, 4);
  w.put<uint16_t>(codec_version);
  w.put<uint16_t>(flags);
  w.put<uint32_t>(static_cast<uint32_t>(rows.n));
  w.put<uint32_t>(static_cast<uint32_t>(b.num_columns()));
  if ((flags & codec_has_rowtime) != 0)
    w.put<int32_t>(s->rowtime);
  for (size_t i = 0; i < b.num_columns(); ++i)
    write_column(w, b.col(i), s->fields[i].name, rows);
  if ((flags & codec_has_kinds) != 0)
    for (size_t k = 0; k < rows.n; ++k)
      w.put<uint8_t>(static_cast<uint8_t>(b.kind(rows[k])));
  auto crc = crc32c::value(out.data() + start, out.size() - start - crc_size);
  w.put<uint32_t>(crc);
}

caf::expected<row_batch> decode(std::span<const char> in) {
  row_batch result;
  if (auto err = decode_into(in, result))
    return err;
  return result;
}

caf::error decode_into(std::span<const char> in, row_batch& out) {
  auto fail = [&out](caf::error err) {
    // Gives the columns back the types of the schema the batch keeps.
    out.reset(codec_access::schema(out));
    return err;
  };
  if (in.size() < header_size + crc_size)
    return fail(corrupt("too short"));
  if (std::memcmp(in.data(), codec_magic, 4) != 0)
    return fail(corrupt("bad magic"));
  reader r{in.data() + 4, in.data() + in.size() - crc_size};
  uint16_t version = 0;
  uint16_t flags = 0;
  uint32_t rows = 0;
  uint32_t ncols = 0;
  uint32_t crc = 0;
  r.get(version);
  r.get(flags);
  r.get(rows);
  r.get(ncols);
  if (version != codec_version)
    return fail(corrupt("unsupported version " + std::to_string(version)));
  std::memcpy(&crc, in.data() + in.size() - crc_size, crc_size);
  if (crc != crc32c::value(in.data(), in.size() - crc_size))
    return fail(corrupt("CRC mismatch"));
  if ((flags & ~(codec_has_kinds | codec_has_rowtime)) != 0)
    return fail(corrupt("unknown flags"));
  if (auto err = decode_columns(r, out, rows, ncols, flags))
    return fail(std::move(err));
  auto& kinds = codec_access::kinds(out);
  kinds.clear();
  if ((flags & codec_has_kinds) != 0) {
    const char* p = nullptr;
    if (!r.take(rows, p))
      return fail(corrupt("truncated row kinds"));
    kinds.resize(rows);
    for (uint32_t k = 0; k < rows; ++k) {
      auto v = static_cast<uint8_t>(p[k]);
      if (v > max_row_kind)
        return fail(corrupt("bad row kind"));
      kinds[k] = static_cast<row_kind>(v);
    }
  }
  if (r.left() != 0)
    return fail(corrupt("bytes after the last section"));
  codec_access::set_rows(out, rows);
  out.select_all();
  if (!out.well_formed())
    return fail(corrupt("sizes or offsets out of range"));
  return {};
}

} // namespace sluice::columnar

#include "connectors/table_files.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/fd_io.hpp"
#include "connectors/table_registry.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

constexpr size_t read_chunk = 1 << 20;
/// Bytes one poll reads at most, so that it returns within milliseconds.
constexpr size_t poll_budget = 4 << 20;
constexpr size_t sink_buffer = 1 << 20;

bool hidden(const fs::path& p) {
  auto name = p.filename().string();
  return !name.empty() && (name[0] == '.' || name[0] == '_');
}

/// One character of a CSV option ("\t" and "tab" for a tab).
caf::expected<char> one_char(const options& opts, const std::string& name) {
  auto& s = opts.get_string(name);
  if (s == "\\t" || s == "tab")
    return '\t';
  if (s.size() != 1)
    return make_error(config_errc::invalid,
                      "option '" + name + "' must be one character, got '" + s +
                          "'");
  return s[0];
}

/// `record` without its line break (LF or CRLF).
std::string_view chop(std::string_view record) {
  if (!record.empty() && record.back() == '\n')
    record.remove_suffix(1);
  if (!record.empty() && record.back() == '\r')
    record.remove_suffix(1);
  return record;
}

} // namespace

// -- source -------------------------------------------------------------------

filesystem_source::filesystem_source(const table_context& ctx, table_format fmt,
                                     std::vector<std::string> all)
    : ctx_(ctx), fmt_(std::move(fmt)), all_(std::move(all)),
      dead_(dead_letter_path(ctx.dead_letter_path, ctx.name)) {
  auto splits = std::max<uint32_t>(ctx_.splits, 1);
  for (size_t j = 0; j < all_.size(); ++j)
    if (j % splits == ctx_.split)
      mine_.push_back(all_[j]);
}

caf::expected<std::unique_ptr<filesystem_source>>
filesystem_source::make(const table_context& ctx, std::string path,
                        table_format fmt) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  // The input of a bounded job does not appear by trying again.
  if (ec || !fs::exists(status))
    return make_permanent(
        make_error(connector_errc::not_found,
                   "table '" + ctx.name + "': no file or directory " + path));
  std::vector<std::string> files;
  if (fs::is_directory(status)) {
    for (auto it = fs::directory_iterator(path, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->is_regular_file() && !hidden(it->path()))
        files.push_back(it->path().string());
    if (ec)
      return make_error(connector_errc::io_error, "table '" + ctx.name +
                                                      "': cannot list " + path +
                                                      ": " + ec.message());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return std::unique_ptr<filesystem_source>{
      new filesystem_source(ctx, std::move(fmt), std::move(files))};
}

filesystem_source::~filesystem_source() {
  close();
}

caf::error filesystem_source::open() {
  return {};
}

uint32_t filesystem_source::max_splits() const {
  return static_cast<uint32_t>(std::max<size_t>(all_.size(), 1));
}

std::string filesystem_source::progress() const {
  if (fd_ < 0)
    return next_file_ >= mine_.size() ? "end" : "";
  return current_ + ":" + std::to_string(offset_ + pos_);
}

void filesystem_source::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  static_cast<void>(dead_.close());
}

caf::expected<bool> filesystem_source::open_next() {
  if (next_file_ >= mine_.size())
    return false;
  current_ = mine_[next_file_++];
  fd_ = ::open(current_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    return make_error(connector_errc::io_error,
                      "cannot open " + current_ + ": " + errno_text(errno));
  buf_.clear();
  pos_ = 0;
  line_ = 1;
  offset_ = 0;
  eof_ = false;
  return true;
}

caf::error filesystem_source::read_more(size_t& got, bool& eof) {
  // Drop what was consumed, then append one chunk.
  offset_ += pos_;
  buf_.erase(0, pos_);
  pos_ = 0;
  auto old = buf_.size();
  buf_.resize(old + read_chunk);
  for (;;) {
    auto n = ::read(fd_, buf_.data() + old, read_chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      buf_.resize(old);
      return make_error(connector_errc::io_error,
                        "cannot read " + current_ + ": " + errno_text(errno));
    }
    got = static_cast<size_t>(n);
    buf_.resize(old + got);
    eof = got == 0;
    if (ctx_.metrics)
      ctx_.metrics->bytes_in.fetch_add(static_cast<uint64_t>(n),
                                       std::memory_order_relaxed);
    return {};
  }
}

caf::error filesystem_source::take(std::string_view record, uint64_t line,
                                   columnar::row_batch& out) {
  auto text = chop(record);
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return {}; // empty lines are skipped
  if (fmt_.allow_comments && fmt_.format == table_format::kind::csv &&
      text.front() == '#')
    return {};
  auto err = fmt_.format == table_format::kind::csv
                 ? csv_decode_row(text, fmt_, out, scratch_)
                 : json_decode_row(text, fmt_, out, scratch_);
  if (!err)
    return {};
  if (ctx_.metrics)
    ctx_.metrics->errors.fetch_add(1, std::memory_order_relaxed);
  return dead_.add(current_, line, reason_of(err), text);
}

caf::expected<poll_status> filesystem_source::poll(columnar::row_batch& out,
                                                   size_t max_rows) {
  size_t read = 0;
  auto before = out.num_rows();
  while (out.num_rows() - before < max_rows && read < poll_budget) {
    if (fd_ < 0) {
      auto opened = open_next();
      if (!opened)
        return std::move(opened.error());
      if (!*opened)
        return out.num_rows() > before ? poll_status::more
                                       : poll_status::finished;
    }
    uint64_t lines = 0;
    auto end =
        fmt_.format == table_format::kind::csv
            ? csv_record_end(buf_, pos_, fmt_.delimiter, fmt_.quote, lines)
            : buf_.find('\n', pos_);
    if (fmt_.format == table_format::kind::json && end != std::string::npos) {
      ++end;
      lines = 1;
    }
    if (end == std::string::npos) {
      if (!eof_) {
        size_t got = 0;
        if (auto err = read_more(got, eof_))
          return err;
        read += got;
        // A byte order mark some editors write is not part of the data.
        if (offset_ == 0 && pos_ == 0 && buf_.size() >= 3 &&
            buf_.compare(0, 3, "\xEF\xBB\xBF") == 0)
          pos_ = 3;
        continue;
      }
      // The last record of a file without a final line break.
      if (pos_ < buf_.size()) {
        auto record = std::string_view{buf_}.substr(pos_);
        if (auto err = take(record, line_, out))
          return err;
      }
      ::close(fd_);
      fd_ = -1;
      continue;
    }
    auto record = std::string_view{buf_}.substr(pos_, end - pos_);
    if (auto err = take(record, line_, out))
      return err;
    line_ += lines;
    pos_ = end;
  }
  return poll_status::more;
}

// -- sink ---------------------------------------------------------------------

filesystem_sink::filesystem_sink(const table_context& ctx, std::string path,
                                 table_format fmt)
    : ctx_(ctx), path_(std::move(path)), fmt_(std::move(fmt)) {}

filesystem_sink::~filesystem_sink() {
  close();
}

caf::error filesystem_sink::open() {
  std::error_code ec;
  auto dir = !path_.empty() && path_.back() == '/';
  if (dir || fs::is_directory(path_, ec)) {
    fs::create_directories(path_, ec);
    if (ec)
      return make_error(connector_errc::io_error,
                        "cannot create " + path_ + ": " + ec.message());
    auto ext = fmt_.format == table_format::kind::csv ? ".csv" : ".json";
    file_ = (fs::path{path_} / ("part-" + std::to_string(ctx_.split) + ext))
                .string();
  } else {
    file_ = path_;
    if (ctx_.splits > 1)
      file_ += "-" + std::to_string(ctx_.split);
  }
  fd_ = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    auto code = errno;
    return classify_errno(
        make_error(connector_errc::io_error,
                   "cannot open " + file_ + ": " + errno_text(code)),
        code);
  }
  if (ctx_.memo) {
    // The job's first run notes where the file ended; a restarted run
    // starts again from its sources' beginning, so it cuts the file back
    // there and writes every row once more.
    struct stat info {};
    if (::fstat(fd_, &info) != 0)
      return make_error(connector_errc::io_error,
                        "cannot stat " + file_ + ": " + errno_text(errno));
    auto start = ctx_.memo->note_once("filesystem:" + file_, info.st_size);
    if (info.st_size > start && ::ftruncate(fd_, start) != 0)
      return make_error(
          connector_errc::io_error,
          "cannot cut " + file_ + " back to " + std::to_string(start) +
              " bytes for the restarted job: " + errno_text(errno));
  }
  return {};
}

caf::error filesystem_sink::write(const columnar::row_batch& rows) {
  if (fd_ < 0)
    return make_error(connector_errc::io_error,
                      "sink " + ctx_.name + " is not open");
  for (auto i : rows.active(active_)) {
    if (auto k = rows.kind(i); k != columnar::row_kind::insert)
      return make_permanent(make_error(
          connector_errc::unsupported,
          "table '" + ctx_.name +
              "': the filesystem connector takes inserts only, got a " +
              columnar::to_string(k) + " row"));
    if (fmt_.format == table_format::kind::csv)
      csv_encode_row(rows, i, fmt_, buf_);
    else
      json_encode_row(rows, i, fmt_, buf_);
  }
  if (buf_.size() >= sink_buffer)
    return flush();
  return {};
}

caf::error filesystem_sink::flush() {
  if (fd_ < 0 || buf_.empty())
    return {};
  auto err = write_fully(fd_, buf_.data(), buf_.size(), file_);
  if (ctx_.metrics && !err)
    ctx_.metrics->bytes_out.fetch_add(buf_.size(), std::memory_order_relaxed);
  buf_.clear();
  return err;
}

caf::error filesystem_sink::tick() {
  return flush();
}

void filesystem_sink::close() {
  if (fd_ < 0)
    return;
  static_cast<void>(flush());
  ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
}

// -- type descriptions --------------------------------------------------------

std::vector<option_spec> filesystem_table_options() {
  return {
      {"path", option_type::string, "a file, or a directory of files", true},
      {"format",
       option_type::string,
       "csv or json (JSON lines)",
       true,
       std::nullopt,
       std::nullopt,
       std::nullopt,
       {"csv", "json"}},
      {"csv.field-delimiter", option_type::string, "one character (\\t: tab)",
       false, option_value{std::string{","}}},
      {"csv.quote-character", option_type::string, "one character", false,
       option_value{std::string{"\""}}},
      {"csv.null-literal", option_type::string,
       "a field with this text is NULL (unset: none)"},
      {"csv.ignore-parse-errors", option_type::boolean,
       "accepted; bad rows always go to the dead-letter file", false,
       option_value{false}},
      {"json.ignore-parse-errors", option_type::boolean,
       "accepted; bad rows always go to the dead-letter file", false,
       option_value{false}},
      {"dead-letter.path", option_type::string,
       "a source's file for the rows that do not parse (unset: "
       "<table>.dead-letter in the working directory)"},
      {"csv.allow-comments", option_type::boolean,
       "skip lines starting with '#'", false, option_value{false}},
      {"json.fail-on-missing-field", option_type::boolean,
       "a missing key makes the row bad (else it is NULL)", false,
       option_value{false}},
      {"json.timestamp-format.standard",
       option_type::string,
       "how the sink writes timestamps: SQL ('2026-12-04 10:00:00.000') or "
       "ISO-8601 ('2026-12-04T10:00:00.000'); the source reads both",
       false,
       option_value{std::string{"SQL"}},
       std::nullopt,
       std::nullopt,
       {"SQL", "ISO-8601"}},
  };
}

caf::expected<table_format> table_format_from(const options& opts) {
  table_format fmt;
  fmt.format = opts.get_string("format") == "json" ? table_format::kind::json
                                                   : table_format::kind::csv;
  auto delimiter = one_char(opts, "csv.field-delimiter");
  if (!delimiter)
    return std::move(delimiter.error());
  auto quote = one_char(opts, "csv.quote-character");
  if (!quote)
    return std::move(quote.error());
  if (*delimiter == *quote || *delimiter == '\n' || *quote == '\n')
    return make_error(config_errc::invalid,
                      "the CSV delimiter and quote must differ and not be a "
                      "line break");
  fmt.delimiter = *delimiter;
  fmt.quote = *quote;
  fmt.allow_comments = opts.get_bool("csv.allow-comments");
  fmt.fail_on_missing = opts.get_bool("json.fail-on-missing-field");
  fmt.iso_timestamps =
      opts.get_string("json.timestamp-format.standard") == "ISO-8601";
  if (opts.contains("csv.null-literal"))
    fmt.null_literal = opts.get_string("csv.null-literal");
  return fmt;
}

table_source_type filesystem_table_source_type() {
  table_source_type t;
  t.name = "filesystem";
  t.help = "reads CSV or JSON-lines files (bounded; one split per file)";
  t.blocking = true;
  t.options = filesystem_table_options();
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_source_ptr> {
    auto fmt = table_format_from(opts);
    if (!fmt)
      return std::move(fmt.error());
    auto at = ctx;
    if (opts.contains("dead-letter.path"))
      at.dead_letter_path = opts.get_string("dead-letter.path");
    auto src = filesystem_source::make(at, opts.get_string("path"), *fmt);
    if (!src)
      return std::move(src.error());
    return table_source_ptr{std::move(*src)};
  };
  return t;
}

table_sink_type filesystem_table_sink_type() {
  table_sink_type t;
  t.name = "filesystem";
  t.help = "appends rows as CSV or JSON lines to a file (inserts only)";
  t.blocking = true;
  t.accepts_updates = false;
  t.options = filesystem_table_options();
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_sink_ptr> {
    auto fmt = table_format_from(opts);
    if (!fmt)
      return std::move(fmt.error());
    return table_sink_ptr{
        std::make_unique<filesystem_sink>(ctx, opts.get_string("path"), *fmt)};
  };
  return t;
}

} // namespace sluice

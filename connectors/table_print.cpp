#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "connectors/fd_io.hpp"
#include "connectors/table_registry.hpp"
#include "connectors/table_sinks.hpp"
#include "runtime/columnar/format.hpp"
#include "runtime/errors.hpp"

namespace sluice {

print_sink::print_sink(const table_context& ctx, std::string identifier,
                       std::string path, bool standard_error)
    : ctx_(ctx), prefix_(std::move(identifier)), path_(std::move(path)),
      stderr_(standard_error) {
  if (ctx_.splits > 1)
    prefix_ += (prefix_.empty() ? "" : ":") + std::to_string(ctx_.split + 1);
  if (!prefix_.empty())
    prefix_ += "> ";
}

print_sink::~print_sink() {
  close();
}

caf::error print_sink::open() {
  if (fd_ >= 0)
    return {};
  if (path_.empty()) {
    fd_ = stderr_ ? STDERR_FILENO : STDOUT_FILENO;
    return {};
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    auto code = errno;
    return classify_errno(
        make_error(connector_errc::io_error,
                   "cannot open " + path_ + ": " + errno_text(code)),
        code);
  }
  own_fd_ = true;
  return {};
}

void print_sink::format_row(const columnar::row_batch& b, size_t row,
                            std::string& out) {
  out += columnar::to_string(b.kind(row));
  out += '[';
  for (size_t c = 0; c < b.num_columns(); ++c) {
    if (c > 0)
      out += ", ";
    columnar::append_value(b.col(c), row, out, "null");
  }
  out += ']';
}

caf::error print_sink::write(const columnar::row_batch& rows) {
  if (fd_ < 0)
    return make_error(connector_errc::io_error,
                      "sink " + ctx_.name + " is not open");
  buf_.clear();
  for (auto i : rows.active(active_)) {
    buf_ += prefix_;
    format_row(rows, i, buf_);
    buf_ += '\n';
  }
  return write_fully(fd_, buf_.data(), buf_.size(),
                     !path_.empty() ? path_
                     : stderr_      ? std::string{"stderr"}
                                    : std::string{"stdout"});
}

void print_sink::close() {
  if (own_fd_ && fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  own_fd_ = false;
}

table_sink_type print_table_sink_type() {
  table_sink_type t;
  t.name = "print";
  t.help = "prints rows with their kind (+I, -U, +U, -D), as Flink's print "
           "connector";
  t.blocking = true;
  t.accepts_updates = true;
  t.options = {
      {"print-identifier", option_type::string,
       "text before each line (followed by '> ')", false,
       option_value{std::string{}}},
      {"standard-error", option_type::boolean,
       "print to stderr instead of stdout", false, option_value{false}},
      {"path", option_type::string, "append to this file instead of stdout",
       false, option_value{std::string{}}},
  };
  t.make = [](const table_context& ctx,
              const options& opts) -> caf::expected<table_sink_ptr> {
    return table_sink_ptr{std::make_unique<print_sink>(
        ctx, opts.get_string("print-identifier"), opts.get_string("path"),
        opts.get_bool("standard-error"))};
  };
  return t;
}

} // namespace sluice

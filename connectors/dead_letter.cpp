#include "connectors/dead_letter.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "connectors/fd_io.hpp"
#include "runtime/errors.hpp"

namespace sluice {

dead_letter::~dead_letter() {
  static_cast<void>(close());
}

caf::error dead_letter::add(std::string_view where, uint64_t line,
                            std::string_view reason, std::string_view raw) {
  if (fd_ < 0) {
    fd_ =
        ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      return make_error(connector_errc::io_error,
                        "cannot open dead-letter file " + path_ + ": " +
                            errno_text(errno));
  }
  line_.clear();
  line_ += where;
  line_ += ':';
  line_ += std::to_string(line);
  line_ += ": ";
  line_ += reason;
  line_ += ": ";
  for (auto ch : raw) {
    if (ch == '\n')
      line_ += "\\n";
    else if (ch == '\r')
      line_ += "\\r";
    else
      line_ += ch;
  }
  line_ += '\n';
  if (auto err = write_fully(fd_, line_.data(), line_.size(), path_))
    return err;
  ++count_;
  return {};
}

caf::error dead_letter::close() {
  if (fd_ < 0)
    return {};
  caf::error result;
  if (::fdatasync(fd_) != 0)
    result = make_error(connector_errc::io_error,
                        "cannot sync dead-letter file " + path_ + ": " +
                            errno_text(errno));
  ::close(fd_);
  fd_ = -1;
  return result;
}

std::string reason_of(const caf::error& err) {
  auto& ctx = err.context();
  if (!ctx.empty() && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(err);
}

std::string dead_letter_path(std::string_view configured,
                             std::string_view table) {
  if (!configured.empty())
    return std::string{configured};
  return std::string{table} + ".dead-letter";
}

} // namespace sluice

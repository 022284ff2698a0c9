#include "runtime/file_store_format.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <zlib.h>

#include "runtime/errors.hpp"

namespace sluice::file_format {

namespace {

template <class T>
uint32_t crc_of_prefix(const T& x, size_t n) {
  return static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(&x), n));
}

} // namespace

uint32_t header_crc(const record_header& h) {
  return crc_of_prefix(h, offsetof(record_header, crc));
}

void encode_progress(const std::string& source, const std::string& token,
                     std::string& out) {
  out.assign(8, '\0');
  auto n = static_cast<uint32_t>(source.size());
  std::memcpy(out.data() + 4, &n, 4);
  out += source;
  out += token;
  auto crc = static_cast<uint32_t>(crc32_z(
      0, reinterpret_cast<const Bytef*>(out.data() + 4), out.size() - 4));
  std::memcpy(out.data(), &crc, 4);
}

bool decode_progress(const std::vector<char>& in, std::string& source,
                     std::string& token) {
  if (in.size() < 8)
    return false;
  uint32_t crc = 0;
  uint32_t n = 0;
  std::memcpy(&crc, in.data(), 4);
  std::memcpy(&n, in.data() + 4, 4);
  if (crc != static_cast<uint32_t>(
                 crc32_z(0, reinterpret_cast<const Bytef*>(in.data() + 4),
                         in.size() - 4)) ||
      n > in.size() - 8)
    return false;
  source.assign(in.data() + 8, n);
  token.assign(in.data() + 8 + n, in.size() - 8 - n);
  return true;
}

uint32_t slot_crc(const pointer_slot& s) {
  return crc_of_prefix(s, offsetof(pointer_slot, crc));
}

std::string err_text() {
  return std::strerror(errno);
}

caf::error io_error(const std::filesystem::path& path,
                    const std::string& what) {
  auto code = errno == ENOSPC || errno == EDQUOT ? channel_errc::disk_full
                                                 : channel_errc::io_error;
  return make_error(code, path.string() + ": " + what + ": " + err_text());
}

bool pread_fully(int fd, char* out, size_t n, int64_t offset) {
  while (n > 0) {
    auto r = ::pread(fd, out, n, offset);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    out += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return true;
}

} // namespace sluice::file_format

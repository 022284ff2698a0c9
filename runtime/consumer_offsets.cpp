#include "runtime/consumer_offsets.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "runtime/crc32c.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

constexpr uint32_t offsets_magic = 0x4f434c53; // "SLCO"
constexpr uint16_t offsets_version = 1;
constexpr size_t fixed_size = 4 + 2 + 2 + 4 + 4; // magic .. count

template <class T>
void put_le(std::vector<char>& out, T x) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(
        static_cast<char>((static_cast<uint64_t>(x) >> (8 * i)) & 0xff));
}

template <class T>
T get_le(const char* p) {
  uint64_t x = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    x |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return static_cast<T>(x);
}

uint32_t checksum(const char* data, size_t n) {
  return crc32c::value(data, n);
}

caf::error bad(const std::filesystem::path& file, const std::string& what) {
  return make_error(topic_errc::bad_metadata, file.string() + ": " + what);
}

caf::error io_failure(const std::filesystem::path& path,
                      const std::string& what) {
  auto code = errno == ENOSPC || errno == EDQUOT ? topic_errc::disk_full
                                                 : topic_errc::io_error;
  return make_error(code,
                    path.string() + ": " + what + ": " + std::strerror(errno));
}

bool write_fully(int fd, const char* p, size_t n) {
  while (n > 0) {
    auto r = ::write(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

} // namespace

std::vector<char>
consumer_offsets::encode(const std::map<std::string, uint64_t>& xs) {
  std::vector<char> out;
  put_le<uint32_t>(out, offsets_magic);
  put_le<uint16_t>(out, offsets_version);
  put_le<uint16_t>(out, 0);
  put_le<uint32_t>(out, 0); // crc, filled in below
  put_le<uint32_t>(out, static_cast<uint32_t>(xs.size()));
  for (auto& [group, offset] : xs) {
    put_le<uint16_t>(out, static_cast<uint16_t>(group.size()));
    out.insert(out.end(), group.begin(), group.end());
    put_le<uint64_t>(out, offset);
  }
  auto crc = checksum(out.data() + 12, out.size() - 12);
  for (size_t i = 0; i < 4; ++i)
    out[8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  return out;
}

namespace {

/// Decodes `in` into `out`; on failure says why in `why`.
bool decode_entries(std::span<const char> in,
                    std::map<std::string, uint64_t>& out, std::string& why) {
  if (in.size() < fixed_size) {
    why = "too short";
    return false;
  }
  if (get_le<uint32_t>(in.data()) != offsets_magic) {
    why = "bad magic";
    return false;
  }
  if (auto v = get_le<uint16_t>(in.data() + 4); v != offsets_version) {
    why = "unknown version " + std::to_string(v);
    return false;
  }
  if (get_le<uint32_t>(in.data() + 8) !=
      checksum(in.data() + 12, in.size() - 12)) {
    why = "CRC mismatch";
    return false;
  }
  auto count = get_le<uint32_t>(in.data() + 12);
  size_t at = fixed_size;
  for (uint32_t i = 0; i < count; ++i) {
    if (in.size() - at < 2) {
      why = "entry cut short";
      return false;
    }
    auto n = get_le<uint16_t>(in.data() + at);
    at += 2;
    if (in.size() - at < size_t{n} + 8) {
      why = "entry cut short";
      return false;
    }
    std::string group{in.data() + at, n};
    at += n;
    out[std::move(group)] = get_le<uint64_t>(in.data() + at);
    at += 8;
  }
  if (at != in.size()) {
    why = "trailing bytes";
    return false;
  }
  return true;
}

} // namespace

caf::expected<std::map<std::string, uint64_t>>
consumer_offsets::decode(std::span<const char> in) {
  std::map<std::string, uint64_t> result;
  std::string why;
  if (!decode_entries(in, result, why))
    return make_error(topic_errc::bad_metadata, "consumer offsets: " + why);
  return result;
}

caf::expected<consumer_offsets>
consumer_offsets::load(std::filesystem::path file) {
  consumer_offsets result;
  result.file_ = std::move(file);
  int fd = ::open(result.file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return result;
    return io_failure(result.file_, "cannot open");
  }
  std::vector<char> bytes;
  char buf[4096];
  for (;;) {
    auto r = ::read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      auto err = io_failure(result.file_, "cannot read");
      ::close(fd);
      return err;
    }
    if (r == 0)
      break;
    bytes.insert(bytes.end(), buf, buf + r);
  }
  ::close(fd);
  std::string why;
  if (!decode_entries(bytes, result.entries_, why))
    return bad(result.file_, why);
  return result;
}

std::optional<uint64_t> consumer_offsets::get(const std::string& group) const {
  if (auto i = entries_.find(group); i != entries_.end())
    return i->second;
  return std::nullopt;
}

void consumer_offsets::set(const std::string& group, uint64_t offset) {
  auto [i, added] = entries_.emplace(group, offset);
  if (added || i->second != offset) {
    i->second = offset;
    dirty_ = true;
  }
}

caf::error consumer_offsets::save() {
  if (!dirty_)
    return {};
  auto bytes = encode(entries_);
  auto tmp = file_;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_failure(tmp, "cannot create");
  if (!write_fully(fd, bytes.data(), bytes.size()) || ::fsync(fd) != 0) {
    auto err = io_failure(tmp, "cannot write");
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file_.c_str()) != 0) {
    auto err = io_failure(file_, "cannot rename into place");
    ::unlink(tmp.c_str());
    return err;
  }
  auto dir = file_.parent_path();
  if (dir.empty())
    dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return io_failure(dir, "cannot open directory");
  auto synced = ::fsync(dfd) == 0;
  auto err = synced ? caf::error{} : io_failure(dir, "cannot sync directory");
  ::close(dfd);
  if (!err)
    dirty_ = false;
  return err;
}

} // namespace sluice

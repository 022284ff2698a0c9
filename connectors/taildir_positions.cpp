#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iterator>
#include <string_view>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/taildir.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

caf::error bad_file(const std::string& path, const std::string& why) {
  return make_error(connector_errc::bad_input,
                    "position file " + path + ": " + why +
                        " (fix or remove it to start over)");
}

caf::error io_failure(const std::string& what, const std::string& path) {
  return make_error(connector_errc::io_error, "cannot " + what +
                                                  " position file " + path +
                                                  ": " + std::strerror(errno));
}

/// Reads a whole file; an error when it exists but cannot be read.
caf::expected<std::string> slurp(const std::string& path, bool& missing) {
  missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return std::string{};
    }
    return io_failure("open", path);
  }
  std::string text;
  char chunk[8192];
  for (;;) {
    auto n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = io_failure("read", path);
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

/// Writes all of `text`; false with errno set on failure.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    auto n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    text.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

/// Checks one entry of the position file and converts it.
caf::expected<file_position> to_position(const nlohmann::json& e,
                                         const std::string& path, size_t i) {
  auto entry = "entry " + std::to_string(i);
  if (!e.is_object())
    return bad_file(path, entry + " is not an object: " + e.dump());
  auto unsigned_field = [&](const char* key, bool required,
                            uint64_t& out) -> caf::error {
    auto it = e.find(key);
    if (it == e.end())
      return required
                 ? bad_file(path, entry + " lacks '" + key + "': " + e.dump())
                 : caf::error{};
    if (!it->is_number_unsigned())
      return bad_file(path, entry + ": '" + key +
                                "' is not a non-negative integer: " + e.dump());
    out = it->get<uint64_t>();
    return {};
  };
  file_position p;
  uint64_t pos = 0;
  if (auto err = unsigned_field("inode", true, p.inode))
    return err;
  if (auto err = unsigned_field("pos", true, pos))
    return err;
  if (auto err = unsigned_field("dev", false, p.dev))
    return err;
  if (pos > static_cast<uint64_t>(INT64_MAX))
    return bad_file(path, entry + ": 'pos' is too large");
  p.pos = static_cast<int64_t>(pos);
  for (auto [key, out] : {std::pair{"file", &p.path}, {"group", &p.group}}) {
    if (auto it = e.find(key); it != e.end()) {
      if (!it->is_string())
        return bad_file(path,
                        entry + ": '" + key + "' is not a string: " + e.dump());
      *out = it->get<std::string>();
    }
  }
  if (auto it = e.find("skip"); it != e.end()) {
    if (!it->is_boolean())
      return bad_file(path, entry + ": 'skip' is not a boolean: " + e.dump());
    p.skipping = it->get<bool>();
  }
  return p;
}

} // namespace

caf::expected<std::vector<file_position>>
read_position_file(const std::string& path, uint64_t* serial) {
  if (serial != nullptr)
    *serial = 0;
  bool missing = false;
  auto text = slurp(path, missing);
  if (!text)
    return std::move(text.error());
  std::vector<file_position> result;
  if (missing)
    return result; // first run
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    // Only a crash of the machine between the rename and the data reaching
    // the disk leaves this: positions are lost, nothing is skipped.
    log().warn("position file {} is empty; reading every file from the start",
               path);
    return result;
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    return bad_file(path, std::string{"not valid JSON: "} + e.what());
  }
  if (!doc.is_array())
    return bad_file(path, "expected a JSON array of {inode, pos, file} "
                          "objects");
  for (size_t i = 0; i < doc.size(); ++i) {
    auto& e = doc[i];
    if (e.is_object()) {
      if (auto s = e.find("serial"); s != e.end()) {
        if (!s->is_number_unsigned())
          return bad_file(path, "entry " + std::to_string(i) +
                                    ": 'serial' is not a non-negative "
                                    "integer: " +
                                    e.dump());
        if (serial != nullptr)
          *serial = std::max(*serial, s->get<uint64_t>());
        if (e.size() == 1)
          continue; // the serial of a file that follows nothing
      }
    }
    auto p = to_position(e, path, i);
    if (!p)
      return std::move(p.error());
    result.push_back(std::move(*p));
  }
  return result;
}

caf::error write_position_file(const std::string& path,
                               const std::vector<file_position>& positions,
                               uint64_t serial, bool durable) {
  // One entry per line, so people can read and diff it.
  std::string text = "[";
  for (size_t i = 0; i < positions.size(); ++i) {
    auto& p = positions[i];
    nlohmann::ordered_json e;
    e["inode"] = p.inode;
    e["pos"] = p.pos;
    e["file"] = p.path;
    e["dev"] = p.dev;
    if (!p.group.empty())
      e["group"] = p.group;
    if (p.skipping)
      e["skip"] = true;
    if (serial > 0)
      e["serial"] = serial;
    text += i == 0 ? "\n  " : ",\n  ";
    text += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (positions.empty() && serial > 0)
    text += fmt::format("\n  {{\"serial\":{}}}", serial);
  text += "\n]\n";
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_failure("create the temporary", tmp);
  int failed = write_all(fd, text) ? 0 : errno;
  if (failed == 0 && durable && ::fsync(fd) != 0)
    failed = errno;
  if (::close(fd) != 0 && failed == 0)
    failed = errno;
  if (failed != 0) {
    ::unlink(tmp.c_str());
    return make_error(connector_errc::io_error,
                      "cannot write the temporary position file " + tmp + ": " +
                          std::strerror(failed));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto failure = io_failure("replace", path);
    ::unlink(tmp.c_str());
    return failure;
  }
  if (durable) {
    auto dir = std::filesystem::path{path}.parent_path();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
      auto failure = io_failure("sync the directory of the", path);
      if (dfd >= 0)
        ::close(dfd);
      return failure;
    }
    ::close(dfd);
  }
  return {};
}

std::string encode_positions(const std::vector<file_position>& positions,
                             uint64_t serial) {
  // "S<serial>;" then one entry per file: "dev inode pos skip group-size
  // path-size:" then the group and path bytes, so names may hold any byte.
  // Never empty, so a source that follows no file still has progress.
  std::string out = fmt::format("S{};", serial);
  for (auto& p : positions) {
    fmt::format_to(std::back_inserter(out), "{} {} {} {} {} {}:", p.dev,
                   p.inode, p.pos, p.skipping ? 1 : 0, p.group.size(),
                   p.path.size());
    out += p.group;
    out += p.path;
  }
  return out;
}

caf::expected<std::vector<file_position>>
decode_positions(std::string_view token, uint64_t* serial) {
  std::vector<file_position> result;
  const char* at = token.data();
  const char* end = token.data() + token.size();
  auto bad = [&](const char* why) {
    return make_error(connector_errc::bad_input,
                      std::string{"channel progress token: "} + why +
                          " at byte " + std::to_string(at - token.data()));
  };
  uint64_t s = 0;
  if (at == end || *at != 'S')
    return bad("no serial");
  ++at;
  auto number = [&](auto& x, char sep) {
    auto [next, ec] = std::from_chars(at, end, x);
    if (ec != std::errc{} || next == end || *next != sep)
      return false;
    at = next + 1;
    return true;
  };
  if (!number(s, ';'))
    return bad("malformed serial");
  if (serial != nullptr)
    *serial = s;
  while (at != end) {
    file_position p;
    int skip = 0;
    size_t group_size = 0;
    size_t path_size = 0;
    if (!number(p.dev, ' ') || !number(p.inode, ' ') || !number(p.pos, ' ') ||
        !number(skip, ' ') || !number(group_size, ' ') ||
        !number(path_size, ':'))
      return bad("malformed entry");
    if (static_cast<size_t>(end - at) < group_size + path_size || p.pos < 0)
      return bad("entry cut short");
    p.skipping = skip != 0;
    p.group.assign(at, group_size);
    at += group_size;
    p.path.assign(at, path_size);
    at += path_size;
    result.push_back(std::move(p));
  }
  return result;
}

} // namespace sluice

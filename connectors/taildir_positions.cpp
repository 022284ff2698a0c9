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

// A damaged position file stays damaged however often the source restarts.
caf::error bad_file(const std::string& path, const std::string& why) {
  return make_permanent(make_error(connector_errc::bad_input,
                                   "position file " + path + ": " + why +
                                       " (fix or remove it to start over)"));
}

caf::error io_failure(const std::string& what, const std::string& path) {
  auto err = errno;
  std::string why = std::strerror(err);
  if (err == EMFILE || err == ENFILE)
    why += " (the process is out of file descriptors, not a problem of the "
           "position file: raise ulimit -n or lower max_open_files)";
  return make_error(connector_errc::io_error,
                    "cannot " + what + " position file " + path + ": " + why);
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
  uint64_t fp = 0;
  uint64_t fp_len = 0;
  if (auto err = unsigned_field("fp", false, fp))
    return err;
  if (auto err = unsigned_field("fp_len", false, fp_len))
    return err;
  if (fp > UINT32_MAX || fp_len > fingerprint_bytes)
    return bad_file(path,
                    entry + ": 'fp' or 'fp_len' is out of range: " + e.dump());
  p.fingerprint = static_cast<uint32_t>(fp);
  p.fp_len = static_cast<uint32_t>(fp_len);
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
  if (doc.is_object()) {
    // Version 2 on: {"version": 2, "serial": 52, "files": [...]}.
    auto v = doc.find("version");
    if (v == doc.end() || !v->is_number_unsigned())
      return bad_file(path, "no 'version' (a non-negative integer)");
    if (v->get<uint64_t>() > position_file_version)
      return bad_file(path, "version " + v->dump() +
                                " is newer than this sluice reads (" +
                                std::to_string(position_file_version) + ")");
    if (auto s = doc.find("serial"); s != doc.end()) {
      if (!s->is_number_unsigned())
        return bad_file(path, "'serial' is not a non-negative integer");
      if (serial != nullptr)
        *serial = s->get<uint64_t>();
    }
    auto files = doc.find("files");
    if (files == doc.end() || !files->is_array())
      return bad_file(path, "'files' is not an array");
    for (size_t i = 0; i < files->size(); ++i) {
      auto p = to_position((*files)[i], path, i);
      if (!p)
        return std::move(p.error());
      result.push_back(std::move(*p));
    }
    return result;
  }
  if (!doc.is_array())
    return bad_file(path, "expected a JSON object {version, serial, files} "
                          "(or an array of {inode, pos, file} objects)");
  // Version 1: an array; each entry carries the serial.
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
  std::string text = fmt::format("{{\"version\":{},\"serial\":{},\"files\":[",
                                 position_file_version, serial);
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
    if (p.fp_len > 0) {
      e["fp"] = p.fingerprint;
      e["fp_len"] = p.fp_len;
    }
    text += i == 0 ? "\n  " : ",\n  ";
    text += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  text += "\n]}\n";
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
  // "F<serial>;" then one entry per file: "dev inode pos skip fp fp_len
  // group-size path-size:" then the group and path bytes, so names may hold
  // any byte. Never empty, so a source that follows no file still has
  // progress. Tokens before fingerprints began with 'S' and lacked fp and
  // fp_len; channels may still hold them.
  std::string out = fmt::format("F{};", serial);
  for (auto& p : positions) {
    fmt::format_to(std::back_inserter(out), "{} {} {} {} {} {} {} {}:", p.dev,
                   p.inode, p.pos, p.skipping ? 1 : 0, p.fingerprint, p.fp_len,
                   p.group.size(), p.path.size());
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
  if (at == end || (*at != 'S' && *at != 'F'))
    return bad("no serial");
  bool with_fingerprints = *at == 'F';
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
        !number(skip, ' ') ||
        (with_fingerprints &&
         (!number(p.fingerprint, ' ') || !number(p.fp_len, ' '))) ||
        !number(group_size, ' ') || !number(path_size, ':'))
      return bad("malformed entry");
    if (p.fp_len > fingerprint_bytes)
      return bad("fingerprint length out of range");
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

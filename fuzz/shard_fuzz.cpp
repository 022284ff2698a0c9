// A topic shard opened on any directory contents (segments, offset and time
// indexes, the producers' snapshot) recovers or refuses with an error; a
// shard that opened reads from its start without crashing, takes a new
// batch, and opens again after it is closed.
//
// An input packs files: per file a name length (u8), the name, a length
// (u32 little-endian) and the bytes. An empty corpus directory is seeded
// with a real shard of three segments, their indexes and a snapshot, so
// mutations start from valid files.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include "runtime/event_batch.hpp"
#include "runtime/log.hpp"
#include "runtime/shard_log.hpp"

namespace fs = std::filesystem;

namespace {

fs::path work_dir() {
  static const auto dir = fs::temp_directory_path() /
                          ("sluice-shard-fuzz-" + std::to_string(getpid()));
  return dir;
}

sluice::shard_log_config config(const fs::path& dir) {
  sluice::shard_log_config cfg;
  cfg.directory = dir;
  cfg.min_free_space = 0;
  cfg.segment_bytes = 512;
  cfg.index_interval_bytes = 64;
  return cfg;
}

sluice::event_batch batch_of(int from, int n) {
  sluice::event_batch b;
  for (int i = from; i < from + n; ++i)
    b.append("record " + std::to_string(i));
  return b;
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

/// Writes a real shard and packs its files into `corpus/seed-shard`.
void seed(const fs::path& corpus) {
  auto dir = work_dir() / "seed";
  fs::remove_all(dir);
  {
    auto log = sluice::shard_log::open(config(dir));
    if (!log)
      return;
    for (int b = 0; b < 12; ++b) {
      if (!(*log)->append(batch_of(b * 4, 4), "writer", b + 1, 1000 + b))
        return;
      if ((*log)->sync())
        return;
    }
    (*log)->close();
  }
  std::string packed;
  for (auto& e : fs::directory_iterator{dir}) {
    auto name = e.path().filename().string();
    if (name == "lock" || name.size() > 255)
      continue;
    std::ifstream in{e.path(), std::ios::binary};
    std::string bytes{std::istreambuf_iterator<char>{in}, {}};
    packed.push_back(static_cast<char>(name.size()));
    packed += name;
    put_u32(packed, static_cast<uint32_t>(bytes.size()));
    packed += bytes;
  }
  std::ofstream out{corpus / "seed-shard", std::ios::binary};
  out.write(packed.data(), static_cast<std::streamsize>(packed.size()));
}

/// A name is used only when it stays inside the directory.
bool safe_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name == "lock")
    return false;
  for (char c : name)
    if (c == '/' || c == '\0')
      return false;
  return true;
}

/// Reads every batch from the start (damage may end the read early).
void read_all(const sluice::shard_log& log) {
  std::vector<sluice::read_batch> batches;
  uint64_t offset = 0;
  for (int reads = 0; reads < 10'000; ++reads) {
    if (log.read_into(offset, 4096, batches) || batches.empty())
      return;
    auto before = offset;
    for (auto& b : batches)
      offset = std::max(offset, b.base_offset + b.batch.size());
    if (offset == before || offset >= log.durable_end())
      return;
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Recovery reports every damaged input; millions of lines say nothing.
  sluice::set_log_level("off");
  for (int i = 1; i < *argc; ++i) {
    fs::path p{(*argv)[i]};
    std::error_code ec;
    if ((*argv)[i][0] != '-' && fs::is_directory(p, ec) && fs::is_empty(p, ec))
      seed(p);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto dir = work_dir() / "shard";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto p = reinterpret_cast<const char*>(data);
  auto end = p + size;
  for (int files = 0; files < 16 && p < end; ++files) {
    size_t name_len = static_cast<uint8_t>(*p++);
    if (static_cast<size_t>(end - p) < name_len + 4)
      break;
    std::string name{p, name_len};
    p += name_len;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i)
      len |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
    p += 4;
    len = static_cast<uint32_t>(std::min<size_t>(len, end - p));
    if (safe_name(name)) {
      std::ofstream out{dir / name, std::ios::binary};
      out.write(p, len);
    }
    p += len;
  }
  auto log = sluice::shard_log::open(config(dir));
  if (!log)
    return 0;
  read_all(**log);
  auto end_before = (*log)->end_offset();
  auto appended = (*log)->append(batch_of(0, 3), "fuzz", 1, 5000);
  bool synced = appended && !(*log)->sync();
  (*log)->close();
  log->reset();
  if (!synced)
    return 0;
  // What opened, took a batch and synced opens again, and keeps the batch.
  auto again = sluice::shard_log::open(config(dir));
  if (!again || (*again)->durable_end() < end_before + 3)
    std::abort();
  (*again)->close();
  return 0;
}

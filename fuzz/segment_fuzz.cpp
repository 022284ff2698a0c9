// A file channel opened on any segment bytes recovers (skipping damage) or
// refuses with an error; whatever it recovers can be leased and committed.
// `sluice channel check` and `repair` take the same bytes, and after a
// repair the channel opens. The input is split in two segments at a point
// its first byte chooses, so damage, gaps and torn tails fall in either.
// An empty corpus directory is seeded with a real log of batches and
// progress records, so mutations start from valid records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include "runtime/file_store.hpp"
#include "runtime/file_store_repair.hpp"
#include "runtime/log.hpp"

namespace fs = std::filesystem;

namespace {

fs::path work_dir() {
  static const auto dir = fs::temp_directory_path() /
                          ("sluice-segment-fuzz-" + std::to_string(getpid()));
  return dir;
}

sluice::file_store_config config(const fs::path& dir) {
  sluice::file_store_config cfg;
  cfg.directory = dir;
  cfg.min_free_space = 0;
  return cfg;
}

void drain(const fs::path& dir) {
  auto store = sluice::file_store::make(config(dir));
  if (!store)
    std::abort();
  if ((*store)->open())
    return;
  while ((*store)->queued_events() > 0) {
    auto l = (*store)->take(1000);
    if (!l || l->id == 0)
      break;
    if ((*store)->commit(l->id))
      std::abort();
  }
  (*store)->close();
}

/// Writes a log of a few batches with progress tokens into `corpus`,
/// the segments one after the other as one input.
void seed(const fs::path& corpus) {
  auto dir = work_dir() / "seed";
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = sluice::file_store::make(config(dir));
    if (!store || (*store)->open())
      return;
    for (int b = 0; b < 6; ++b) {
      sluice::event_batch batch;
      for (int i = 0; i < 3; ++i)
        batch.append("event " + std::to_string(b * 3 + i));
      if ((*store)->append(std::move(batch), "src",
                           "token-" + std::to_string(b)))
        return;
    }
    if ((*store)->sync())
      return;
    (*store)->close();
  }
  std::string bytes;
  for (auto& e : fs::directory_iterator{dir}) {
    if (e.path().extension() != ".seg")
      continue;
    std::ifstream in{e.path(), std::ios::binary};
    bytes.append(std::istreambuf_iterator<char>{in}, {});
  }
  std::ofstream out{corpus / "seed-log", std::ios::binary};
  out.put('\0'); // split point: everything in the first segment
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
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
  auto dir = work_dir() / "channel";
  fs::remove_all(dir);
  fs::create_directories(dir);
  size_t split = size;
  if (size > 0) {
    // First byte: 0 puts everything in one segment, else a split point.
    split = data[0] == 0 ? size : 1 + (data[0] * (size - 1)) / 255;
    ++data;
    --size;
    split = std::min(split - (split > 0 ? 1 : 0), size);
  }
  auto write = [&](const char* name, const uint8_t* from, size_t n) {
    std::ofstream out{dir / name, std::ios::binary};
    out.write(reinterpret_cast<const char*>(from),
              static_cast<std::streamsize>(n));
  };
  write("00000000000000000001.seg", data, split);
  if (split < size)
    write("00000000000000000002.seg", data + split, size - split);
  if (!sluice::check_channel(dir))
    return 0;
  drain(dir);
  if (auto repaired = sluice::repair_channel(dir); repaired) {
    // A repaired channel opens.
    auto store = sluice::file_store::make(config(dir));
    if (!store || (*store)->open())
      std::abort();
    (*store)->close();
  }
  return 0;
}

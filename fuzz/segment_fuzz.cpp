// A file channel opened on any segment bytes recovers or reports corruption;
// whatever it recovers can be leased and committed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "runtime/file_store.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = fs::temp_directory_path() /
                          ("sluice-segment-fuzz-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream out{dir / "00000000000000000001.seg", std::ios::binary};
    out.write(reinterpret_cast<const char*>(data),
              static_cast<std::streamsize>(size));
  }
  sluice::file_store_config cfg;
  cfg.directory = dir;
  cfg.min_free_space = 0;
  auto store = sluice::file_store::make(cfg);
  if (!store)
    std::abort();
  if (!(*store)->open()) {
    while ((*store)->queued_events() > 0) {
      auto l = (*store)->take(1000);
      if (!l || l->id == 0)
        break;
      if ((*store)->commit(l->id))
        std::abort();
    }
    (*store)->close();
  }
  return 0;
}

#include "cli/topic_offline.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "actors/shard.hpp"
#include "actors/topic.hpp"
#include "runtime/consumer_offsets.hpp"
#include "runtime/errors.hpp"
#include "runtime/shard_log.hpp"

namespace sluice {

namespace fs = std::filesystem;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error in_use(const fs::path& shard_dir) {
  return make_error(topic_errc::io_error,
                    fmt::format("{} is in use by a running sluice node (it "
                                "holds the shard's lock); ask that node with "
                                "--node HOST:PORT (or --topology FILE)",
                                shard_dir.string()));
}

/// One shard opened offline: its log and its groups' positions.
struct offline_shard {
  std::unique_ptr<shard_log> log;
  consumer_offsets offsets;
};

class offline_topic final : public topic_backend {
 public:
  offline_topic(fs::path dir, topic_meta meta,
                std::vector<offline_shard> shards)
      : dir_(std::move(dir)), meta_(std::move(meta)),
        shards_(std::move(shards)) {}

  ~offline_topic() override {
    for (auto& s : shards_)
      s.log->close();
  }

  uint32_t shards() const override { return meta_.shards; }

  caf::expected<topic_view>
  describe(const std::vector<std::string>& groups) override {
    topic_view v;
    v.name = meta_.name;
    v.shards = meta_.shards;
    v.partition = meta_.partition;
    v.created_ms = meta_.created_ms;
    v.where = "directory " + dir_.string();
    for (uint32_t i = 0; i < meta_.shards; ++i) {
      auto& s = shards_[i];
      v.shard_views.push_back({i, s.log->start_offset(), s.log->end_offset(),
                               s.log->segments(), s.log->disk_bytes()});
    }
    auto empty = std::vector<std::optional<uint64_t>>(meta_.shards);
    for (auto& g : groups)
      v.groups.emplace(g, empty);
    for (uint32_t i = 0; i < meta_.shards; ++i)
      for (auto& [group, offset] : shards_[i].offsets.entries())
        v.groups.emplace(group, empty).first->second[i] = offset;
    return v;
  }

  caf::expected<fetch_result> fetch(uint32_t shard, uint64_t offset,
                                    uint64_t max_bytes, int64_t) override {
    auto& log = *shards_.at(shard).log;
    fetch_result r;
    r.start_offset = log.start_offset();
    r.end_offset = log.durable_end();
    if (offset > log.end_offset())
      return make_error(topic_errc::bad_request,
                        fmt::format("offset {} is past shard {}'s end {}",
                                    offset, shard, log.end_offset()));
    if (offset >= r.end_offset)
      return r;
    auto batches = log.read(std::max(offset, r.start_offset), max_bytes);
    if (!batches)
      return std::move(batches.error());
    r.batches = std::move(*batches);
    return r;
  }

  caf::expected<uint64_t> offset_for_time(uint32_t shard,
                                          int64_t ts_ms) override {
    return shards_.at(shard).log->offset_for_time(ts_ms);
  }

  caf::error commit(uint32_t shard, const std::string& group,
                    uint64_t offset) override {
    auto& s = shards_.at(shard);
    if (offset > s.log->end_offset())
      return make_error(topic_errc::bad_request,
                        fmt::format("offset {} is past shard {}'s end {}",
                                    offset, shard, s.log->end_offset()));
    s.offsets.set(group, offset);
    return {};
  }

  caf::error flush() override {
    for (auto& s : shards_)
      if (auto err = s.offsets.save())
        return err;
    return {};
  }

 private:
  fs::path dir_;
  topic_meta meta_;
  std::vector<offline_shard> shards_;
};

caf::expected<topic_meta> read_meta(const fs::path& dir,
                                    const std::string& name) {
  auto meta = read_topic_meta(dir);
  if (!meta) {
    if (meta.error() == make_error(config_errc::not_found))
      return make_error(topic_errc::unknown_topic,
                        fmt::format("no topic{} in {} (it has no topic.meta)",
                                    name.empty() ? "" : " " + name,
                                    dir.string()));
    return std::move(meta.error());
  }
  if (!name.empty() && meta->name != name)
    return make_error(topic_errc::unknown_topic,
                      fmt::format("{} holds topic {}, not {}", dir.string(),
                                  meta->name, name));
  return meta;
}

} // namespace

bool shard_lock_held(const fs::path& shard_dir) {
  auto path = shard_dir / "lock";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd); // releases the probe's lock
  return held;
}

caf::expected<std::unique_ptr<topic_backend>>
open_offline_topic(const fs::path& dir, const std::string& name) {
  auto meta = read_meta(dir, name);
  if (!meta)
    return std::move(meta.error());
  std::vector<offline_shard> shards;
  for (uint32_t i = 0; i < meta->shards; ++i) {
    auto shard_dir = dir / shard_directory_name(i);
    if (shard_lock_held(shard_dir))
      return in_use(shard_dir);
    shard_log_config cfg;
    cfg.directory = shard_dir;
    cfg.min_free_space = 0;
    auto log = shard_log::open(cfg);
    if (!log) {
      // Between the probe and the open, a node may have started.
      if (shard_lock_held(shard_dir))
        return in_use(shard_dir);
      return std::move(log.error());
    }
    auto offsets = consumer_offsets::load(shard_dir / "consumer-offsets");
    if (!offsets) {
      (*log)->close();
      return std::move(offsets.error());
    }
    shards.push_back({std::move(*log), std::move(*offsets)});
  }
  return std::make_unique<offline_topic>(dir, std::move(*meta),
                                         std::move(shards));
}

caf::expected<bool> create_offline_topic(const fs::path& dir,
                                         const std::string& name,
                                         uint32_t shards) {
  auto existing = read_topic_meta(dir);
  if (existing) {
    if (existing->name != name)
      return make_error(topic_errc::shard_count_mismatch,
                        fmt::format("{} already holds topic {}, not {}",
                                    dir.string(), existing->name, name));
    if (existing->shards != shards)
      return make_error(
          topic_errc::shard_count_mismatch,
          fmt::format("topic {} in {} has {} shard(s), not {} (a topic's "
                      "shard count never changes)",
                      name, dir.string(), existing->shards, shards));
    return false;
  }
  if (existing.error() != make_error(config_errc::not_found))
    return std::move(existing.error());
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (uint32_t i = 0; i < shards && !ec; ++i)
    fs::create_directories(dir / shard_directory_name(i), ec);
  if (ec)
    return make_error(
        topic_errc::io_error,
        fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  topic_meta meta;
  meta.name = name;
  meta.shards = shards;
  meta.created_ms = now_ms();
  meta.partition = "hash";
  if (auto err = write_topic_meta(dir, meta))
    return err;
  return true;
}

caf::expected<std::vector<topic_entry>>
list_offline_topics(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(topic_errc::unknown_topic,
                      dir.string() + ": not a directory");
  std::vector<topic_entry> result;
  auto add = [&](const fs::path& d) -> caf::error {
    auto meta = read_topic_meta(d);
    if (meta) {
      result.push_back({meta->name, meta->shards, d.string()});
      return {};
    }
    if (meta.error() == make_error(config_errc::not_found))
      return {};
    return std::move(meta.error());
  };
  if (fs::exists(dir / "topic.meta", ec)) {
    if (auto err = add(dir))
      return err;
    return result;
  }
  std::vector<fs::path> subdirs;
  for (auto& e : fs::directory_iterator{dir, ec})
    if (e.is_directory())
      subdirs.push_back(e.path());
  if (ec)
    return make_error(
        topic_errc::io_error,
        fmt::format("cannot read {}: {}", dir.string(), ec.message()));
  std::sort(subdirs.begin(), subdirs.end());
  for (auto& d : subdirs)
    if (auto err = add(d))
      return err;
  return result;
}

} // namespace sluice

#include "actors/topic.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "actors/shard.hpp"
#include "runtime/atoms.hpp"
#include "runtime/errors.hpp"
#include "runtime/fs_sync.hpp"
#include "runtime/log.hpp"

namespace sluice {

namespace {

constexpr int topic_meta_format = 1;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

caf::error io_failure(const std::filesystem::path& path,
                      const std::string& what) {
  auto code = errno == ENOSPC || errno == EDQUOT ? topic_errc::disk_full
                                                 : topic_errc::io_error;
  return make_error(code,
                    path.string() + ": " + what + ": " + std::strerror(errno));
}

/// The shard directories in `dir` that hold segment files (`.log`), by
/// name; empty when there are none.
caf::expected<std::vector<std::string>>
shard_dirs_with_data(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  std::error_code ec;
  fs::directory_iterator it{dir, ec};
  auto failed = [&](const fs::path& where) {
    return make_error(topic_errc::io_error,
                      where.string() + ": cannot list: " + ec.message());
  };
  if (ec)
    return failed(dir);
  for (; it != fs::directory_iterator{}; it.increment(ec)) {
    if (ec)
      return failed(dir);
    auto name = it->path().filename().string();
    if (name.rfind("shard-", 0) != 0 || !it->is_directory(ec))
      continue;
    fs::directory_iterator inner{it->path(), ec};
    if (ec)
      return failed(it->path());
    for (; inner != fs::directory_iterator{}; inner.increment(ec)) {
      if (ec)
        return failed(it->path());
      if (inner->path().extension() == ".log") {
        found.push_back(name);
        break;
      }
    }
  }
  if (ec)
    return failed(dir);
  std::sort(found.begin(), found.end());
  return found;
}

} // namespace

caf::expected<topic_meta> read_topic_meta(const std::filesystem::path& dir) {
  auto file = dir / "topic.meta";
  std::ifstream in{file};
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
      return make_error(config_errc::not_found,
                        file.string() + ": no topic here");
    return make_error(topic_errc::bad_metadata,
                      file.string() + ": cannot read");
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  auto bad = [&](const std::string& what) {
    return make_error(topic_errc::bad_metadata, file.string() + ": " + what);
  };
  if (j.is_discarded() || !j.is_object())
    return bad("not a JSON object");
  if (!j.contains("format") || !j["format"].is_number_integer())
    return bad("no \"format\"");
  topic_meta meta;
  meta.format = j["format"].get<int>();
  if (meta.format != topic_meta_format)
    return bad(fmt::format("format {} (this build reads format {})",
                           meta.format, topic_meta_format));
  if (!j.contains("shards") || !j["shards"].is_number_unsigned())
    return bad("no \"shards\" count");
  auto shards = j["shards"].get<uint64_t>();
  if (shards < 1 || shards > 1024)
    return bad(fmt::format("{} shards (1 to 1024)", shards));
  meta.shards = static_cast<uint32_t>(shards);
  meta.name = j.value("name", std::string{});
  meta.created_ms = j.value("created", int64_t{0});
  meta.partition = j.value("partition", std::string{"hash"});
  return meta;
}

caf::error write_topic_meta(const std::filesystem::path& dir,
                            const topic_meta& meta) {
  nlohmann::json j;
  j["format"] = meta.format;
  j["name"] = meta.name;
  j["shards"] = meta.shards;
  j["created"] = meta.created_ms;
  j["partition"] = meta.partition;
  auto text = j.dump(2) + "\n";
  auto file = dir / "topic.meta";
  auto tmp = dir / "topic.meta.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_failure(tmp, "cannot create");
  const char* p = text.data();
  size_t n = text.size();
  while (n > 0) {
    auto r = ::write(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      auto err = io_failure(tmp, "cannot write");
      ::close(fd);
      return err;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  if (::fsync(fd) != 0) {
    auto err = io_failure(tmp, "cannot sync");
    ::close(fd);
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    return io_failure(file, "cannot rename into place");
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return io_failure(dir, "cannot open");
  auto ok = ::fsync(dfd) == 0;
  auto err = ok ? caf::error{} : io_failure(dir, "cannot sync");
  ::close(dfd);
  return err;
}

caf::expected<topic_meta> create_or_open_topic(const topic_config& cfg) {
  // A power loss must not take a new topic directory away with its data:
  // each created level's parent is synced.
  if (auto err = create_directories_synced(cfg.directory))
    return err;
  auto meta = read_topic_meta(cfg.directory);
  if (meta) {
    if (meta->shards != cfg.shards)
      return make_permanent(make_error(
          topic_errc::shard_count_mismatch,
          fmt::format("topic {} in {} has {} shard(s); the configuration "
                      "asks for {} (a topic's shard count never changes)",
                      cfg.name, cfg.directory.string(), meta->shards,
                      cfg.shards)));
    return meta;
  }
  if (meta.error() != make_error(config_errc::not_found))
    return make_permanent(std::move(meta.error()));
  // Without its metadata the stored shard count is unknown: writing a new
  // one could re-partition the keys or leave shards unread.
  auto stored = shard_dirs_with_data(cfg.directory);
  if (!stored)
    return std::move(stored.error());
  if (!stored->empty())
    return make_permanent(make_error(
        topic_errc::bad_metadata,
        fmt::format("topic {}: {} is missing, but {} hold(s) records ({}); "
                    "restore topic.meta (its shard count) or move the "
                    "shard directories away",
                    cfg.name, (cfg.directory / "topic.meta").string(),
                    stored->size(), fmt::join(*stored, ", "))));
  std::error_code ec;
  topic_meta fresh;
  fresh.format = topic_meta_format;
  fresh.name = cfg.name;
  fresh.shards = cfg.shards;
  fresh.created_ms = now_ms();
  fresh.partition = cfg.partition;
  // The shards' directories exist once the topic does, before any shard
  // has opened its log; writing topic.meta syncs their entries.
  for (uint32_t i = 0; i < cfg.shards; ++i) {
    std::filesystem::create_directories(cfg.directory / shard_directory_name(i),
                                        ec);
    if (ec)
      return make_error(topic_errc::io_error,
                        (cfg.directory / shard_directory_name(i)).string() +
                            ": cannot create: " + ec.message());
  }
  if (auto err = write_topic_meta(cfg.directory, fresh))
    return err;
  log().info("topic {}: created with {} shard(s) in {}", cfg.name, cfg.shards,
             cfg.directory.string());
  return fresh;
}

namespace {

/// The topic's own messages (timers), beside its public interface.
using topic_impl_actor =
    topic_actor::extend<caf::reacts_to<restart_atom, uint32_t>,
                        caf::reacts_to<wake_atom, uint64_t>,
                        caf::reacts_to<timeout_atom>>;

/// One shard as its topic supervises it.
struct shard_slot {
  shard_actor handle; ///< invalid while down
  int failures = 0;   ///< in a row
  std::chrono::steady_clock::time_point started;
};

struct topic_state {
  topic_config cfg;
  std::vector<shard_slot> slots;
  /// Metadata requests waiting for every shard to run, by id.
  std::map<uint64_t, caf::typed_response_promise<topic_metadata>> waiting;
  uint64_t next_wait_id = 1;
  bool stopping = false;
  static inline const char* name = "sluice.topic";

  /// A topic that ends without a stop (killed) takes its shards along;
  /// each closes its log as it ends.
  ~topic_state() {
    for (auto& s : slots)
      if (s.handle)
        caf::anon_send_exit(s.handle, caf::exit_reason::user_shutdown);
  }
};

using topic_ptr = topic_impl_actor::stateful_pointer<topic_state>;

bool all_running(topic_ptr self) {
  auto& slots = self->state.slots;
  return std::all_of(slots.begin(), slots.end(),
                     [](auto& s) { return static_cast<bool>(s.handle); });
}

topic_metadata metadata(topic_ptr self) {
  auto& st = self->state;
  topic_metadata m;
  m.name = st.cfg.name;
  m.shards = st.cfg.shards;
  for (auto& s : st.slots)
    m.shard_actors.push_back(s.handle);
  return m;
}

void answer_waiting(topic_ptr self) {
  auto& st = self->state;
  if (!all_running(self))
    return;
  for (auto& [id, rp] : st.waiting)
    rp.deliver(metadata(self));
  st.waiting.clear();
}

shard_config shard_config_of(const topic_config& cfg, uint32_t index) {
  shard_config sc;
  sc.name = cfg.name + "/" + shard_directory_name(index);
  sc.log = cfg.log;
  sc.log.directory = cfg.directory / shard_directory_name(index);
  sc.fsync_interval_ms = cfg.fsync_interval_ms;
  sc.retention_interval_ms = cfg.retention_interval_ms;
  sc.offsets_flush_ms = cfg.offsets_flush_ms;
  sc.metrics = cfg.metrics;
  sc.detached = cfg.detached_shards;
  return sc;
}

void start_shard(topic_ptr self, uint32_t index) {
  auto& st = self->state;
  auto& slot = st.slots[index];
  slot.handle = spawn_shard(self->system(), shard_config_of(st.cfg, index));
  slot.started = std::chrono::steady_clock::now();
  self->monitor(slot.handle);
  answer_waiting(self);
}

void maybe_quit(topic_ptr self) {
  auto& st = self->state;
  if (!st.stopping)
    return;
  for (auto& s : st.slots)
    if (s.handle)
      return;
  auto err =
      make_error(topic_errc::stopped, "topic " + st.cfg.name + " stopped");
  for (auto& [id, rp] : st.waiting)
    rp.deliver(err);
  st.waiting.clear();
  self->quit();
}

void on_shard_down(topic_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (uint32_t i = 0; i < st.slots.size(); ++i) {
    auto& slot = st.slots[i];
    if (!slot.handle || slot.handle.address() != msg.source)
      continue;
    slot.handle = nullptr;
    if (st.stopping) {
      maybe_quit(self);
      return;
    }
    auto ran = std::chrono::steady_clock::now() - slot.started;
    if (ran > std::chrono::milliseconds{st.cfg.max_restart_backoff_ms})
      slot.failures = 0;
    auto backoff = st.cfg.restart_backoff_ms;
    for (int k = 0;
         k < slot.failures && backoff < st.cfg.max_restart_backoff_ms; ++k)
      backoff *= 2;
    backoff = std::min(backoff, st.cfg.max_restart_backoff_ms);
    ++slot.failures;
    st.cfg.metrics->restarts.fetch_add(1, std::memory_order_relaxed);
    log().warn("topic {}: shard {} ended ({}); starting it again in {} ms",
               st.cfg.name, i, describe(msg.reason), backoff);
    self->delayed_send(self, std::chrono::milliseconds{backoff},
                       restart_atom::value, i);
    return;
  }
}

topic_impl_actor::behavior_type topic_impl(topic_ptr self, topic_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  if (!st.cfg.metrics)
    st.cfg.metrics = std::make_shared<component_metrics>(st.cfg.name, "topic");
  auto meta = create_or_open_topic(st.cfg);
  if (!meta) {
    st.cfg.metrics->errors.fetch_add(1, std::memory_order_relaxed);
    log().error("topic {}: {}", st.cfg.name, describe(meta.error()));
    self->quit(meta.error());
    return topic_impl_actor::behavior_type::make_empty_behavior();
  }
  st.slots.resize(st.cfg.shards);
  for (uint32_t i = 0; i < st.cfg.shards; ++i)
    start_shard(self, i);
  self->set_down_handler(
      [self](caf::down_msg& msg) { on_shard_down(self, msg); });
  return {
      [self](metadata_atom) -> caf::result<topic_metadata> {
        auto& st = self->state;
        if (st.stopping)
          return make_error(topic_errc::stopped,
                            "topic " + st.cfg.name + " is stopping");
        if (all_running(self))
          return metadata(self);
        auto rp = self->make_response_promise<topic_metadata>();
        auto id = st.next_wait_id++;
        st.waiting.emplace(id, rp);
        self->delayed_send(self,
                           std::chrono::milliseconds{st.cfg.metadata_wait_ms},
                           wake_atom::value, id);
        return rp;
      },
      [self](stop_atom) {
        auto& st = self->state;
        if (st.stopping)
          return;
        st.stopping = true;
        for (auto& s : st.slots)
          if (s.handle)
            self->send(s.handle, stop_atom::value);
        self->delayed_send(self, std::chrono::seconds{30}, timeout_atom::value);
        maybe_quit(self);
      },
      [self](restart_atom, uint32_t index) {
        auto& st = self->state;
        if (st.stopping || index >= st.slots.size() || st.slots[index].handle)
          return;
        start_shard(self, index);
      },
      [self](wake_atom, uint64_t id) {
        auto& st = self->state;
        auto i = st.waiting.find(id);
        if (i == st.waiting.end())
          return;
        i->second.deliver(make_error(topic_errc::stopped,
                                     "topic " + st.cfg.name +
                                         ": a shard is not running again yet"));
        st.waiting.erase(i);
      },
      [self](timeout_atom) {
        auto& st = self->state;
        log().warn("topic {}: killing shards that did not stop in time",
                   st.cfg.name);
        for (auto& s : st.slots)
          if (s.handle)
            self->send_exit(s.handle, caf::exit_reason::kill);
      },
  };
}

} // namespace

topic_actor spawn_topic(caf::actor_system& sys, topic_config cfg) {
  return sys.spawn(topic_impl, std::move(cfg));
}

} // namespace sluice

// taildir's descriptors and file identity: unreadable files, the cap on
// open files, fingerprints.
#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/capability.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "connectors/taildir.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tail_driver.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Makes permission bits apply to this thread even when it runs as root
/// (drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its effective set),
/// and restores them when destroyed.
class honour_permissions {
 public:
  honour_permissions() {
    ok_ = ::syscall(SYS_capget, &hdr_, saved_) == 0;
    if (!ok_)
      return;
    __user_cap_data_struct data[2] = {saved_[0], saved_[1]};
    data[0].effective &=
        ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ok_ = ::syscall(SYS_capset, &hdr_, data) == 0;
  }
  ~honour_permissions() {
    if (ok_)
      ::syscall(SYS_capset, &hdr_, saved_);
  }
  honour_permissions(const honour_permissions&) = delete;
  honour_permissions& operator=(const honour_permissions&) = delete;

 private:
  __user_cap_header_struct hdr_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct saved_[2]{};
  bool ok_ = false;
};

bool can_open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    ::close(fd);
  return fd >= 0;
}

const file_position* position_of(const std::vector<file_position>& ps,
                                 uint64_t inode) {
  auto i = std::find_if(ps.begin(), ps.end(),
                        [&](auto& p) { return p.inode == inode; });
  return i == ps.end() ? nullptr : &*i;
}

uint64_t inode_of(const std::string& path) {
  struct stat sb;
  REQUIRE(::stat(path.c_str(), &sb) == 0);
  return static_cast<uint64_t>(sb.st_ino);
}

/// Collects what the project's logger writes while it lives.
class log_capture {
 public:
  log_capture()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    log().sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = log().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() {
    log().flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

} // namespace

SCENARIO("a file unreadable at start-up keeps its position and resumes from "
         "it once readable",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log_path = dir / "logs/app.log";
  auto positions = dir / "state/positions.json";
  append(log_path, "u0\nu1\n");
  {
    tail_driver t{dir};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(2));
    t.src->close();
  }
  auto inode = inode_of(log_path);
  append(log_path, "u2\n");
  fs::permissions(log_path, fs::perms::none);
  honour_permissions guard;
  REQUIRE(!can_open(log_path)); // the case is provoked: it cannot be read
  WHEN("sluice starts (twice) while the file cannot be read") {
    for (int run = 0; run < 2; ++run) {
      tail_driver t{dir};
      REQUIRE(!t.open());
      t.poll_once();
      CHECK(t.lines.empty());
      auto kept = read_position_file(positions);
      REQUIRE(kept);
      auto p = position_of(*kept, inode);
      REQUIRE(p != nullptr); // not rewritten without it
      CHECK(p->pos == 6);
    }
    AND_WHEN("it becomes readable again") {
      tail_driver t{dir};
      REQUIRE(!t.open());
      t.poll_once();
      fs::permissions(log_path, fs::perms::owner_read | fs::perms::owner_write);
      REQUIRE(t.poll_until(1));
      t.poll_once();
      THEN("it resumes from its position: no line twice") {
        CHECK(t.lines == std::vector<std::string>{"u2"});
      }
    }
  }
}

SCENARIO("a position whose directory cannot be read is kept; one whose file "
         "is gone for good is dropped",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "mnt");
  fs::create_directories(dir / "logs");
  options opts;
  opts.set("filegroups", string_map{{"mnt", dir / "mnt/*.log"},
                                    {"logs", dir / "logs/*.log"}});
  append(dir / "mnt/a.log", "a0\n");
  append(dir / "logs/gone.log", "g0\n");
  {
    tail_driver t{dir, opts};
    REQUIRE(!t.open());
    REQUIRE(t.poll_until(2));
    t.src->close();
  }
  auto a_inode = inode_of(dir / "mnt/a.log");
  auto gone_inode = inode_of(dir / "logs/gone.log");
  // While stopped: the volume is unmounted, the other file deleted.
  fs::rename(dir / "mnt", dir / "mnt.off");
  fs::remove(dir / "logs/gone.log");
  append(dir / "mnt.off/a.log", "a1\n");
  tail_driver t{dir, opts};
  REQUIRE(!t.open());
  auto kept = read_position_file(dir / "state/positions.json");
  REQUIRE(kept);
  CHECK(position_of(*kept, gone_inode) == nullptr);
  REQUIRE(position_of(*kept, a_inode) != nullptr);
  CHECK(position_of(*kept, a_inode)->pos == 3);
  // The volume comes back: the file resumes from its position.
  fs::rename(dir / "mnt.off", dir / "mnt");
  REQUIRE(t.poll_until(1));
  t.poll_once();
  CHECK(t.lines == std::vector<std::string>{"a1"});
}

SCENARIO("taildir keeps at most max_open_files open and reads every line of "
         "many files once",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  constexpr int files = 300;
  constexpr int cap = 16;
  auto name = [&](int i) {
    return dir / ("logs/f" + std::to_string(i) + ".log");
  };
  for (int i = 0; i < files; ++i)
    append(name(i),
           "f" + std::to_string(i) + " 0\nf" + std::to_string(i) + " 1\n");
  options opts;
  opts.set("max_open_files", int64_t{cap});
  tail_driver t{dir, opts};
  REQUIRE(!t.open());
  size_t most_open = 0;
  auto drive = [&](size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (t.lines.size() < n && std::chrono::steady_clock::now() < deadline) {
      REQUIRE(!t.src->commit(t.poll_once(100)));
      auto& st = t.state();
      most_open = std::max(most_open, st.open_files);
      std::this_thread::sleep_for(1ms);
    }
    return t.lines.size() >= n;
  };
  REQUIRE(drive(2 * files));
  auto& st = t.state();
  // Files read to their end and closed must be found growing by their stat.
  auto closed = std::count_if(st.files.begin(), st.files.end(),
                              [](auto& f) { return f.fd < 0; });
  bool seven_closed =
      std::any_of(st.files.begin(), st.files.end(),
                  [&](auto& f) { return f.fd < 0 && f.path == name(7); });
  for (int i = 0; i < files; ++i)
    append(name(i), "f" + std::to_string(i) + " 2\n");
  // One closed file is rotated by rename with a last line in it, and a new
  // file takes its name.
  REQUIRE(seven_closed);
  append(name(7), "f7 3\n");
  fs::rename(name(7), name(7) + ".1");
  append(name(7), "f7 4\n");
  REQUIRE(drive(3 * files + 2));
  t.poll_once();
  THEN("the cap held, and files were closed and reopened") {
    CHECK(most_open <= static_cast<size_t>(cap));
    CHECK(closed >= files - cap);
  }
  THEN("every line of every file arrived exactly once, in order per file") {
    std::map<std::string, std::vector<std::string>> per_file;
    for (auto& line : t.lines)
      per_file[line.substr(0, line.find(' '))].push_back(line);
    REQUIRE(per_file.size() == static_cast<size_t>(files));
    // f7's two inodes are read side by side: their order is not defined.
    std::sort(per_file["f7"].begin(), per_file["f7"].end());
    for (int i = 0; i < files; ++i) {
      auto f = "f" + std::to_string(i);
      auto want = numbered(f + " ", 0, i == 7 ? 5 : 3);
      CHECK(per_file[f] == want);
    }
    CHECK(t.lines.size() == static_cast<size_t>(3 * files + 2));
  }
}

SCENARIO("running out of descriptors is reported as such and loses nothing",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  constexpr int files = 40;
  for (int i = 0; i < files; ++i)
    append(dir / ("logs/f" + std::to_string(i) + ".log"),
           "f" + std::to_string(i) + " 0\n");
  // The process holds many descriptors already (as one with sockets and
  // channel segments does): more than half of its limit.
  std::vector<int> held;
  for (int i = 0; i < 40; ++i)
    held.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  size_t in_use = 0;
  for (auto& e : fs::directory_iterator{"/proc/self/fd"}) {
    (void)e;
    ++in_use;
  }
  struct rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Room for 12 more descriptors, but a cap of half the limit: more than 12.
  struct rlimit low = saved;
  low.rlim_cur = in_use + 12;
  REQUIRE(low.rlim_cur / 2 > 12);
  log_capture captured;
  tail_driver t{dir};
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  auto opened = t.open();
  bool done = !opened && t.poll_until(files, 20s);
  auto& st = t.state();
  auto max_open = st.max_open;
  t.src->close();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  for (int fd : held)
    ::close(fd);
  REQUIRE(!opened);
  REQUIRE(done);
  CHECK(t.lines.size() == static_cast<size_t>(files));
  CHECK(t.ctx.metrics->errors.load() >= 1); // the limit was really hit
  CHECK(max_open <= 12);
  CHECK_THAT(captured.text(), Catch::Contains("out of file descriptors") &&
                                  Catch::Contains("max_open_files"));
}

SCENARIO("a new file reusing a followed inode is told apart by its first "
         "bytes",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "state");
  auto log_path = dir / "logs/app.log";
  std::string content;
  for (int i = 0; i < 50; ++i)
    content += "new " + std::to_string(i) + "\n";
  append(log_path, content);
  auto inode = inode_of(log_path);
  // The position file of a run that followed an older file with this inode
  // (deleted while sluice was stopped) far into it.
  file_position old{0, inode, 200, log_path, "logs", false, 0x1234abcdu, 256};
  REQUIRE(!write_position_file(dir / "state/positions.json", {old}, 5));
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(50));
  t.poll_once();
  THEN("it is read from its start: no line lost") {
    CHECK(t.lines == numbered("new ", 0, 50));
  }
  AND_THEN("the position file holds the new file's fingerprint") {
    auto kept = read_position_file(dir / "state/positions.json");
    REQUIRE(kept);
    REQUIRE(kept->size() == 1);
    CHECK(kept->front().fp_len == fingerprint_bytes);
    CHECK(kept->front().fingerprint != old.fingerprint);
  }
}

SCENARIO("a position file without fingerprints (version 1) still loads and "
         "adopts the file's",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  fs::create_directories(dir / "state");
  auto log_path = dir / "logs/app.log";
  append(log_path, "v0\nv1\nv2\n");
  auto inode = inode_of(log_path);
  append(dir / "state/positions.json",
         "[\n  {\"inode\":" + std::to_string(inode) + ",\"pos\":3,\"file\":\"" +
             log_path + "\",\"serial\":4}\n]\n");
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(2));
  t.poll_once();
  CHECK(t.lines == numbered("v", 1, 3));
  t.src->close();
  uint64_t serial = 0;
  auto kept = read_position_file(dir / "state/positions.json", &serial);
  REQUIRE(kept);
  REQUIRE(kept->size() == 1);
  CHECK(kept->front().fp_len == 9);
  CHECK(serial >= 4);
  CHECK_THAT(test::read_file(dir / "state/positions.json"),
             Catch::Contains("\"version\":2"));
}

SCENARIO("a position file of a newer version is refused", "[taildir]") {
  test::temp_dir dir;
  append(dir / "p.json", R"({"version": 99, "serial": 1, "files": []})");
  auto back = read_position_file(dir / "p.json");
  REQUIRE(!back);
  CHECK_THAT(describe(back.error()), Catch::Contains("version 99"));
}

SCENARIO("a file truncated and rewritten longer between two reads is read "
         "again from its start, without a fragment",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log_path = dir / "logs/app.log";
  append(log_path, "old 0\nold 1\n"); // 12 bytes
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(2));
  // Between two polls: truncated, then written past the old position.
  {
    std::ofstream out{log_path, std::ios::trunc};
    out << "rewrite 0\nrewrite 1\nrewrite 2\n"; // byte 12 is inside a line
  }
  REQUIRE(fs::file_size(log_path) > 12); // longer than the position
  REQUIRE(t.poll_until(5));
  t.poll_once();
  CHECK(t.lines == std::vector<std::string>{"old 0", "old 1", "rewrite 0",
                                            "rewrite 1", "rewrite 2"});
}

SCENARIO("a file rewritten to the same size is read again from its start",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  auto log_path = dir / "logs/app.log";
  append(log_path, "old 0\nold 1\n");
  tail_driver t{dir};
  REQUIRE(!t.open());
  REQUIRE(t.poll_until(2));
  t.poll_once();
  auto mtime = fs::last_write_time(log_path);
  {
    std::ofstream out{log_path, std::ios::trunc};
    out << "new 0\nnew 1\n";
  }
  // Same size, other bytes: only the mtime tells it changed.
  REQUIRE(fs::file_size(log_path) == 12);
  if (fs::last_write_time(log_path) == mtime)
    fs::last_write_time(log_path, mtime + 1s);
  REQUIRE(t.poll_until(4));
  CHECK(t.lines ==
        std::vector<std::string>{"old 0", "old 1", "new 0", "new 1"});
}

SCENARIO("at max_open_files a file read to its end is closed before one "
         "with unread bytes",
         "[taildir]") {
  test::temp_dir dir;
  fs::create_directories(dir / "logs");
  // a.log has a backlog read a few lines per poll; b..e hold one line each
  // and are read to their end at once.
  std::string big;
  for (int i = 0; i < 400; ++i)
    big += "a " + std::to_string(i) + "\n";
  append(dir / "logs/a.log", big);
  for (std::string n : {"b", "c", "d", "e"})
    append(dir / ("logs/" + n + ".log"), n + " 0\n");
  options opts;
  opts.set("max_open_files", int64_t{2});
  tail_driver t{dir, opts};
  REQUIRE(!t.open());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (t.lines.size() < 404 && std::chrono::steady_clock::now() < deadline)
    REQUIRE(!t.src->commit(t.poll_once(4)));
  REQUIRE(t.lines.size() == 404);
  auto& st = t.state();
  THEN("files were closed to make room, never a.log while it had unread "
       "lines, and its lines arrived once, in order") {
    CHECK(st.max_open == 2);
    CHECK(st.closed_unread == 0);
    std::vector<std::string> a_lines;
    for (auto& l : t.lines)
      if (l[0] == 'a')
        a_lines.push_back(l);
    CHECK(a_lines == numbered("a ", 0, 400));
  }
}

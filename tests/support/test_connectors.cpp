#include "tests/support/test_connectors.hpp"

#include <charconv>
#include <stdexcept>
#include <thread>

#include "runtime/errors.hpp"

namespace sluice::test {

namespace {

class counter_source : public source_connector {
 public:
  explicit counter_source(std::shared_ptr<test_bench> bench)
      : bench_(std::move(bench)) {}

  caf::error open() override {
    if (auto ms = bench_->open_delay_ms.load(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    next_ = bench_->committed_seq.load();
    return {};
  }

  caf::expected<poll_status> poll(batch_builder& out,
                                  size_t max_events) override {
    if (!bench_->source_open)
      return poll_status::idle;
    auto limit = bench_->source_limit.load();
    for (size_t i = 0; i < max_events; ++i) {
      if (limit >= 0 && next_ >= limit)
        return poll_status::finished;
      auto n = std::to_chars(buf_, buf_ + sizeof(buf_), next_++);
      out.append({buf_, static_cast<size_t>(n.ptr - buf_)});
      bench_->produced.fetch_add(1);
    }
    return poll_status::more;
  }

  void seal(uint64_t seq) override { sealed_.emplace_back(seq, next_); }

  caf::error commit(uint64_t seq) override {
    while (!sealed_.empty() && sealed_.front().first <= seq) {
      bench_->committed_seq = sealed_.front().second;
      sealed_.erase(sealed_.begin());
    }
    return {};
  }

 private:
  std::shared_ptr<test_bench> bench_;
  int64_t next_ = 0;
  char buf_[24];
  std::vector<std::pair<uint64_t, int64_t>> sealed_;
};

class recorder_sink : public sink_connector {
 public:
  explicit recorder_sink(std::shared_ptr<test_bench> bench)
      : bench_(std::move(bench)) {}

  caf::error open() override {
    {
      std::lock_guard guard{bench_->mtx};
      bench_->opens.push_back(std::chrono::steady_clock::now());
    }
    if (bench_->fail_opens > 0) {
      --bench_->fail_opens;
      auto err = make_error(connector_errc::injected_failure, "open refused");
      return bench_->fail_permanently ? make_permanent(err) : err;
    }
    return {};
  }

  caf::error write(const event_batch& batch) override {
    if (auto ms = bench_->write_delay_ms.load(); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    if (bench_->crash_writes > 0) {
      --bench_->crash_writes;
      throw std::runtime_error("injected crash");
    }
    if (bench_->fail_writes > 0 || bench_->down) {
      if (!bench_->down)
        --bench_->fail_writes;
      ++bench_->failed_writes;
      {
        std::lock_guard guard{bench_->mtx};
        bench_->write_failures.push_back(std::chrono::steady_clock::now());
      }
      pending_.clear();
      return make_error(connector_errc::injected_failure, "write refused");
    }
    for (size_t i = 0; i < batch.size(); ++i)
      pending_.emplace_back(batch.body(i));
    return {};
  }

  caf::error flush() override {
    std::lock_guard guard{bench_->mtx};
    bench_->received.insert(bench_->received.end(), pending_.begin(),
                            pending_.end());
    pending_.clear();
    return {};
  }

  caf::error probe() override {
    ++bench_->probes;
    if (bench_->down) {
      ++bench_->failed_probes;
      return make_error(connector_errc::injected_failure, "the sink is down");
    }
    return {};
  }

 private:
  std::shared_ptr<test_bench> bench_;
  std::vector<std::string> pending_;
};

} // namespace

connector_registry make_test_registry(std::shared_ptr<test_bench> bench) {
  auto registry = connector_registry::builtin();
  source_type src;
  src.name = "counter";
  src.help = "test source of numbered events";
  src.blocking = false;
  src.make = [bench](const connector_context&,
                     const options&) -> caf::expected<source_connector_ptr> {
    return source_connector_ptr{std::make_unique<counter_source>(bench)};
  };
  registry.add(std::move(src));
  sink_type snk;
  snk.name = "recorder";
  snk.help = "test sink recording bodies";
  snk.make = [bench](const connector_context& ctx,
                     const options&) -> caf::expected<sink_connector_ptr> {
    auto own = bench->sink_benches.find(ctx.name);
    return sink_connector_ptr{std::make_unique<recorder_sink>(
        own == bench->sink_benches.end() ? bench : own->second)};
  };
  registry.add(std::move(snk));
  return registry;
}

} // namespace sluice::test

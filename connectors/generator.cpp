#include "connectors/generator.hpp"

#include <algorithm>
#include <charconv>

#include "connectors/registry.hpp"
#include "runtime/errors.hpp"

namespace sluice {

namespace {

constexpr size_t digits = 12;

} // namespace

generator_source::generator_source(generator_config cfg)
    : cfg_(cfg), line_(static_cast<size_t>(cfg.line_size), 'x') {
  line_[digits] = ' ';
}

caf::error generator_source::resume(const std::string& token) {
  // "NEXT PRODUCED"
  int64_t next = 0;
  int64_t produced = 0;
  const char* end = token.data() + token.size();
  auto [mid, ec1] = std::from_chars(token.data(), end, next);
  if (ec1 == std::errc{} && mid != end && *mid == ' ') {
    auto [last, ec2] = std::from_chars(mid + 1, end, produced);
    if (ec2 == std::errc{} && last == end && produced >= 0) {
      resume_ = std::pair{next, produced};
      return {};
    }
  }
  return make_error(connector_errc::bad_input,
                    "generator: unreadable progress token '" + token + "'");
}

std::string generator_source::progress() const {
  return std::to_string(st_.next) + ' ' + std::to_string(st_.produced);
}

caf::error generator_source::open() {
  st_.next = cfg_.start;
  st_.produced = 0;
  if (resume_) {
    st_.next = resume_->first;
    st_.produced = resume_->second;
    resume_.reset();
  }
  st_.refilled = std::chrono::steady_clock::now();
  st_.tokens = 0;
  return {};
}

caf::expected<poll_status> generator_source::poll(batch_builder& out,
                                                  size_t max_events) {
  auto n = static_cast<int64_t>(max_events);
  if (cfg_.count > 0)
    n = std::min(n, cfg_.count - st_.produced);
  if (cfg_.rate > 0) {
    auto now = std::chrono::steady_clock::now();
    std::chrono::duration<double> dt = now - st_.refilled;
    st_.refilled = now;
    // At most one second of burst.
    st_.tokens = std::min(st_.tokens + dt.count() * cfg_.rate,
                          static_cast<double>(cfg_.rate));
    n = std::min(n, static_cast<int64_t>(st_.tokens));
    st_.tokens -= static_cast<double>(std::max<int64_t>(n, 0));
  }
  auto* data = line_.data();
  for (int64_t i = 0; i < n; ++i) {
    // Zero-padded decimal, written right to left.
    auto x = static_cast<uint64_t>(st_.next++);
    for (size_t d = digits; d > 0; --d) {
      data[d - 1] = static_cast<char>('0' + x % 10);
      x /= 10;
    }
    out.append(line_);
  }
  st_.produced += std::max<int64_t>(n, 0);
  if (cfg_.count > 0 && st_.produced >= cfg_.count)
    return poll_status::finished;
  if (n < static_cast<int64_t>(max_events))
    return poll_status::idle;
  return poll_status::more;
}

source_type generator_source_type() {
  source_type t;
  t.name = "generator";
  t.help = "produces numbered fixed-size lines (tests, benchmarks)";
  t.blocking = false;
  t.options = {
      {"count", option_type::integer, "events to produce (0 = unlimited)",
       false, option_value{int64_t{0}}, 0},
      {"rate", option_type::integer, "events per second (0 = unlimited)", false,
       option_value{int64_t{0}}, 0},
      {"line_size", option_type::bytes, "bytes per line", false,
       option_value{int64_t{100}}, 16, int64_t{1} << 20},
      {"start", option_type::integer, "first sequence number", false,
       option_value{int64_t{0}}, 0},
  };
  t.make = [](const connector_context&,
              const options& opts) -> caf::expected<source_connector_ptr> {
    generator_config cfg;
    cfg.count = opts.get_int("count");
    cfg.rate = opts.get_int("rate");
    cfg.line_size = opts.get_int("line_size");
    cfg.start = opts.get_int("start");
    return source_connector_ptr{std::make_unique<generator_source>(cfg)};
  };
  return t;
}

} // namespace sluice

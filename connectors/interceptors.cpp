#include "connectors/interceptors.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <chrono>
#include <ifaddrs.h>
#include <memory>
#include <netinet/in.h>
#include <unistd.h>

#include <re2/re2.h>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

class timestamp_interceptor : public interceptor {
 public:
  timestamp_interceptor(std::string header, bool preserve)
      : header_(std::move(header)), preserve_(preserve) {}

  bool apply(event_batch& b) override {
    auto last = b.size() - 1;
    if (preserve_ && !b.header(last, header_).empty())
      return true;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), ms);
    b.add_header(header_, {buf, static_cast<size_t>(r.ptr - buf)});
    return true;
  }

 private:
  std::string header_;
  bool preserve_;
};

class static_interceptor : public interceptor {
 public:
  static_interceptor(std::string key, std::string value, bool preserve)
      : key_(std::move(key)), value_(std::move(value)), preserve_(preserve) {}

  bool apply(event_batch& b) override {
    if (preserve_ && !b.header(b.size() - 1, key_).empty())
      return true;
    b.add_header(key_, value_);
    return true;
  }

 private:
  std::string key_;
  std::string value_;
  bool preserve_;
};

class regex_filter : public interceptor {
 public:
  regex_filter(std::unique_ptr<RE2> re, bool exclude)
      : re_(std::move(re)), exclude_(exclude) {}

  bool apply(event_batch& b) override {
    auto body = b.body(b.size() - 1);
    bool match =
        RE2::PartialMatch(re2::StringPiece{body.data(), body.size()}, *re_);
    return match != exclude_;
  }

 private:
  std::unique_ptr<RE2> re_;
  bool exclude_;
};

class regex_extract : public interceptor {
 public:
  regex_extract(std::unique_ptr<RE2> re, std::vector<std::string> headers)
      : re_(std::move(re)), headers_(std::move(headers)),
        groups_(static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1) {}

  bool apply(event_batch& b) override {
    auto last = b.size() - 1;
    auto body = b.body(last);
    re2::StringPiece text{body.data(), body.size()};
    if (!re_->Match(text, 0, text.size(), RE2::UNANCHORED, groups_.data(),
                    static_cast<int>(groups_.size())))
      return true;
    // Copy the captures first: adding headers may move the batch's bytes.
    scratch_.clear();
    spans_.clear();
    for (size_t i = 1; i < groups_.size() && i <= headers_.size(); ++i) {
      spans_.emplace_back(scratch_.size(), groups_[i].size());
      scratch_.append(groups_[i].data(), groups_[i].size());
    }
    for (size_t i = 0; i < spans_.size(); ++i)
      b.add_header(headers_[i], std::string_view{scratch_}.substr(
                                    spans_[i].first, spans_[i].second));
    return true;
  }

 private:
  std::unique_ptr<RE2> re_;
  std::vector<std::string> headers_;
  std::vector<re2::StringPiece> groups_;
  std::string scratch_;                          ///< reused capture bytes
  std::vector<std::pair<size_t, size_t>> spans_; ///< offset, size
};

caf::expected<std::unique_ptr<RE2>> compile(const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, opts);
  if (!re->ok())
    return make_error(config_errc::invalid,
                      "invalid regex '" + pattern + "': " + re->error());
  return re;
}

std::string host_name(bool use_ip) {
  if (use_ip) {
    ifaddrs* list = nullptr;
    std::string result = "127.0.0.1";
    if (getifaddrs(&list) == 0) {
      for (auto* a = list; a != nullptr; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET)
          continue;
        auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
        if (ntohl(in->sin_addr.s_addr) >> 24 == 127)
          continue;
        char buf[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
        result = buf;
        break;
      }
      freeifaddrs(list);
    }
    return result;
  }
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return "localhost";
  return buf;
}

const option_spec preserve_spec{"preserve_existing", option_type::boolean,
                                "keep a header the event already has", false,
                                option_value{true}};

} // namespace

std::vector<interceptor_type> builtin_interceptor_types() {
  std::vector<interceptor_type> result;
  {
    interceptor_type t;
    t.name = "timestamp";
    t.help = "adds the time of reading in epoch milliseconds";
    t.options = {{"header", option_type::string, "header name", false,
                  option_value{std::string{"timestamp"}}},
                 preserve_spec};
    t.make = [](const options& o) -> caf::expected<interceptor_ptr> {
      return interceptor_ptr{std::make_unique<timestamp_interceptor>(
          o.get_string("header"), o.get_bool("preserve_existing"))};
    };
    result.push_back(std::move(t));
  }
  {
    interceptor_type t;
    t.name = "host";
    t.help = "adds the host name or IPv4 address";
    t.options = {{"header", option_type::string, "header name", false,
                  option_value{std::string{"host"}}},
                 {"use_ip", option_type::boolean, "use the IPv4 address", false,
                  option_value{false}},
                 preserve_spec};
    t.make = [](const options& o) -> caf::expected<interceptor_ptr> {
      return interceptor_ptr{std::make_unique<static_interceptor>(
          o.get_string("header"), host_name(o.get_bool("use_ip")),
          o.get_bool("preserve_existing"))};
    };
    result.push_back(std::move(t));
  }
  {
    interceptor_type t;
    t.name = "static";
    t.help = "adds a fixed header";
    t.options = {{"key", option_type::string, "header name", true},
                 {"value", option_type::string, "header value", true},
                 preserve_spec};
    t.make = [](const options& o) -> caf::expected<interceptor_ptr> {
      return interceptor_ptr{std::make_unique<static_interceptor>(
          o.get_string("key"), o.get_string("value"),
          o.get_bool("preserve_existing"))};
    };
    result.push_back(std::move(t));
  }
  {
    interceptor_type t;
    t.name = "regex_filter";
    t.help = "keeps only events matching a regex (or drops them)";
    t.options = {{"regex", option_type::string, "RE2 regular expression", true},
                 {"exclude", option_type::boolean, "drop matching events",
                  false, option_value{false}}};
    t.make = [](const options& o) -> caf::expected<interceptor_ptr> {
      auto re = compile(o.get_string("regex"));
      if (!re)
        return re.error();
      return interceptor_ptr{std::make_unique<regex_filter>(
          std::move(*re), o.get_bool("exclude"))};
    };
    result.push_back(std::move(t));
  }
  {
    interceptor_type t;
    t.name = "regex_extract";
    t.help = "turns a regex's capture groups into headers";
    t.options = {{"regex", option_type::string, "RE2 regular expression", true},
                 {"headers", option_type::string_list,
                  "header name per capture group", true}};
    t.make = [](const options& o) -> caf::expected<interceptor_ptr> {
      auto re = compile(o.get_string("regex"));
      if (!re)
        return re.error();
      auto& headers = o.get_list("headers");
      if (static_cast<size_t>((*re)->NumberOfCapturingGroups()) <
          headers.size())
        return make_error(config_errc::invalid,
                          "regex_extract: " + std::to_string(headers.size()) +
                              " headers but only " +
                              std::to_string((*re)->NumberOfCapturingGroups()) +
                              " capture groups in '" + o.get_string("regex") +
                              "'");
      return interceptor_ptr{
          std::make_unique<regex_extract>(std::move(*re), headers)};
    };
    result.push_back(std::move(t));
  }
  return result;
}

} // namespace sluice

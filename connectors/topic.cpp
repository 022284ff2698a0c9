#include "connectors/topic.hpp"

#include <charconv>

#include "runtime/errors.hpp"

namespace sluice {

namespace {

// The topic link's ends are actors, not connectors: these stand-ins only
// exist so that the registry can describe and check the options; the
// engine never opens them.
class topic_placeholder_source : public source_connector {
 public:
  caf::error open() override { return refuse(); }
  caf::expected<poll_status> poll(batch_builder&, size_t) override {
    return refuse();
  }
  static caf::error refuse() {
    return make_error(connector_errc::unsupported,
                      "a topic source runs as an actor of its own");
  }
};

class topic_placeholder_sink : public sink_connector {
 public:
  caf::error open() override {
    return make_error(connector_errc::unsupported,
                      "a topic sink runs as an actor of its own");
  }
  caf::error write(const event_batch&) override { return open(); }
};

template <class T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty())
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

} // namespace

bool is_topic_type(const std::string& type) {
  return type == "topic";
}

caf::expected<topic_start> parse_topic_start(std::string_view text) {
  topic_start result;
  if (text == "committed")
    return result;
  if (text == "earliest") {
    result.from = topic_start::kind::earliest;
    return result;
  }
  if (text == "latest") {
    result.from = topic_start::kind::latest;
    return result;
  }
  constexpr std::string_view offset = "offset:";
  constexpr std::string_view timestamp = "timestamp:";
  if (text.starts_with(offset)) {
    result.from = topic_start::kind::offset;
    if (parse_number(text.substr(offset.size()), result.offset))
      return result;
    return make_error(config_errc::invalid,
                      "start '" + std::string{text} +
                          "': N of offset:N must be a non-negative integer");
  }
  if (text.starts_with(timestamp)) {
    result.from = topic_start::kind::timestamp;
    if (parse_number(text.substr(timestamp.size()), result.timestamp_ms) &&
        result.timestamp_ms >= 0)
      return result;
    return make_error(config_errc::invalid,
                      "start '" + std::string{text} +
                          "': MS of timestamp:MS must be a non-negative "
                          "integer of milliseconds since the epoch");
  }
  return make_error(config_errc::invalid,
                    "start '" + std::string{text} +
                        "' is not one of committed, earliest, latest, "
                        "offset:N, timestamp:MS");
}

caf::expected<topic_address> parse_topic_address(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(config_errc::invalid, "address '" + std::string{text} +
                                                "' must be HOST:PORT: " + why);
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return bad("no port");
  topic_address result;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return bad("an IPv6 host is written in brackets, such as [::1]:7400");
  if (host.empty())
    return bad("no host");
  int port = 0;
  if (!parse_number(text.substr(colon + 1), port) || port < 1 || port > 65535)
    return bad("the port must be a number from 1 to 65535");
  result.host = std::string{host};
  result.port = static_cast<uint16_t>(port);
  return result;
}

source_type topic_source_type() {
  source_type t;
  t.name = "topic";
  t.help = "reads a topic's shards as a consumer group";
  t.blocking = false;
  t.options = {
      {"topic", option_type::string, "the topic read", true},
      {"address", option_type::string,
       "HOST:PORT of the node holding the topic, when this topology does "
       "not declare it",
       false, option_value{std::string{}}},
      {"group", option_type::string,
       "the consumer group whose committed offsets it keeps", true},
      {"start", option_type::string,
       "where a shard is read from: committed, earliest, latest, offset:N, "
       "timestamp:MS",
       false, option_value{std::string{"committed"}}},
      {"max_fetch_bytes", option_type::bytes,
       "most bytes of record batches one fetch of a shard returns", false,
       option_value{int64_t{1} << 20}, 1024, int64_t{256} << 20},
      {"headers", option_type::boolean,
       "add each record's shard and offset as headers", false,
       option_value{false}},
  };
  t.make = [](const connector_context&,
              const options&) -> caf::expected<source_connector_ptr> {
    return source_connector_ptr{std::make_unique<topic_placeholder_source>()};
  };
  return t;
}

sink_type topic_sink_type() {
  sink_type t;
  t.name = "topic";
  t.help = "appends batches to a topic's shards";
  t.blocking = false;
  t.options = {
      {"topic", option_type::string, "the topic written", true},
      {"address", option_type::string,
       "HOST:PORT of the node holding the topic, when this topology does "
       "not declare it",
       false, option_value{std::string{}}},
      {"partition",
       option_type::string,
       "how a shard is chosen",
       false,
       option_value{std::string{"hash"}},
       std::nullopt,
       std::nullopt,
       {"hash", "round_robin"}},
      {"key", option_type::string,
       "header hashed to choose a shard; empty: the body", false,
       option_value{std::string{}}},
      {"timeout", option_type::duration,
       "how long the topic may take to make an append durable", false,
       option_value{int64_t{10'000}}, 1},
      {"fields", option_type::string_list,
       "names of a line's delimited fields (the DataHub import's "
       "serializer.fieldnames); records keep the whole line, and one with "
       "another number of fields is counted as malformed and logged",
       false, option_value{std::vector<std::string>{}}},
      {"delimiter", option_type::string, "separator of the fields", false,
       option_value{std::string{","}}},
      {"shards", option_type::integer,
       "the shard count the topic is expected to have (0: any)", false,
       option_value{int64_t{0}}, 0, 1024},
  };
  t.make = [](const connector_context&,
              const options&) -> caf::expected<sink_connector_ptr> {
    return sink_connector_ptr{std::make_unique<topic_placeholder_sink>()};
  };
  return t;
}

} // namespace sluice

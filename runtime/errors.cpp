#include "runtime/errors.hpp"

#include <cerrno>

#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace sluice {

namespace {

constexpr auto connector_category = caf::atom("connector");
constexpr auto channel_category = caf::atom("channel");
constexpr auto config_category = caf::atom("config");
constexpr auto supervisor_category = caf::atom("supervisor");
constexpr auto topic_category = caf::atom("topic");
constexpr auto sql_category = caf::atom("sql");

std::string render(caf::atom_value category, uint8_t code) {
  if (category == connector_category)
    return to_string(static_cast<connector_errc>(code));
  if (category == channel_category)
    return to_string(static_cast<channel_errc>(code));
  if (category == config_category)
    return to_string(static_cast<config_errc>(code));
  if (category == supervisor_category)
    return to_string(static_cast<supervisor_errc>(code));
  if (category == topic_category)
    return to_string(static_cast<topic_errc>(code));
  if (category == sql_category)
    return to_string(static_cast<sql_errc>(code));
  if (category == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(code));
  // How an actor ended: a peer node's death is remote_link_unreachable.
  if (category == caf::atom("exit"))
    return caf::to_string(static_cast<caf::exit_reason>(code));
  return "error " + std::to_string(code);
}

/// The mark `make_permanent` adds to an error's context.
constexpr auto permanent_mark = caf::atom("permanent");

std::string context_text(const caf::message& ctx) {
  if (ctx.empty())
    return {};
  if (ctx.match_elements<std::string>() ||
      ctx.match_elements<std::string, caf::atom_value>())
    return ctx.get_as<std::string>(0);
  return caf::to_string(ctx);
}

} // namespace

std::string to_string(connector_errc x) {
  switch (x) {
  case connector_errc::io_error:
    return "I/O error";
  case connector_errc::not_found:
    return "not found";
  case connector_errc::bad_input:
    return "bad input";
  case connector_errc::process_failed:
    return "process failed";
  case connector_errc::injected_failure:
    return "injected failure";
  case connector_errc::unsupported:
    return "unsupported";
  }
  return "unknown connector error";
}

std::string to_string(channel_errc x) {
  switch (x) {
  case channel_errc::corrupt_log:
    return "corrupt channel log";
  case channel_errc::disk_full:
    return "disk full";
  case channel_errc::io_error:
    return "channel I/O error";
  case channel_errc::unknown_lease:
    return "unknown lease";
  case channel_errc::stopped:
    return "channel stopped";
  case channel_errc::events_lost:
    return "events lost";
  case channel_errc::protocol:
    return "protocol violation";
  }
  return "unknown channel error";
}

std::string to_string(config_errc x) {
  switch (x) {
  case config_errc::invalid:
    return "invalid configuration";
  case config_errc::not_found:
    return "configuration not found";
  }
  return "unknown configuration error";
}

std::string to_string(supervisor_errc x) {
  switch (x) {
  case supervisor_errc::max_restarts_exceeded:
    return "too many restarts";
  case supervisor_errc::permanent_failure:
    return "permanent failure";
  }
  return "unknown supervisor error";
}

// Topics (issue 6).

std::string to_string(topic_errc x) {
  switch (x) {
  case topic_errc::disk_full:
    return "topic disk full";
  case topic_errc::corrupt_log:
    return "corrupt topic log";
  case topic_errc::io_error:
    return "topic I/O error";
  case topic_errc::shard_count_mismatch:
    return "shard count mismatch";
  case topic_errc::unknown_topic:
    return "unknown topic";
  case topic_errc::no_committed_offset:
    return "no committed offset";
  case topic_errc::stopped:
    return "topic stopped";
  case topic_errc::busy:
    return "shard busy";
  case topic_errc::bad_request:
    return "bad topic request";
  case topic_errc::bad_metadata:
    return "bad topic metadata";
  }
  return "unknown topic error";
}

caf::error make_error(topic_errc x) {
  return {static_cast<uint8_t>(x), topic_category};
}

// End of topics.

// The SQL engine (issue 7).

std::string to_string(sql_errc x) {
  switch (x) {
  case sql_errc::invalid_script:
    return "invalid SQL script";
  case sql_errc::bad_plan:
    return "bad job plan";
  case sql_errc::protocol:
    return "operator protocol violation";
  case sql_errc::state_limit:
    return "operator state limit exceeded";
  case sql_errc::eval_error:
    return "expression evaluation error";
  }
  return "unknown SQL error";
}

caf::error make_error(sql_errc x) {
  return {static_cast<uint8_t>(x), sql_category};
}

// End of the SQL engine.

caf::error make_error(connector_errc x) {
  return {static_cast<uint8_t>(x), connector_category};
}

caf::error make_error(channel_errc x) {
  return {static_cast<uint8_t>(x), channel_category};
}

caf::error make_error(config_errc x) {
  return {static_cast<uint8_t>(x), config_category};
}

caf::error make_error(supervisor_errc x) {
  return {static_cast<uint8_t>(x), supervisor_category};
}

caf::error make_permanent(caf::error err) {
  if (!err || is_permanent(err))
    return err;
  return caf::error{
      err.code(), err.category(),
      caf::make_message(context_text(err.context()), permanent_mark)};
}

bool is_permanent(const caf::error& err) {
  if (!err)
    return false;
  if (err.category() == config_category)
    return true;
  // A script or plan that is wrong stays wrong on the next start.
  if (err.category() == sql_category &&
      (err.code() == static_cast<uint8_t>(sql_errc::invalid_script) ||
       err.code() == static_cast<uint8_t>(sql_errc::bad_plan)))
    return true;
  auto& ctx = err.context();
  return ctx.match_elements<std::string, caf::atom_value>() &&
         ctx.get_as<caf::atom_value>(1) == permanent_mark;
}

// Callers apply it at a component's first start only: a later failure (a
// file sink's roll, a restart) stays transient, since the run worked before.
bool permanent_errno(int code) {
  switch (code) {
  case ENOTDIR:
  case EEXIST:
  case EISDIR:
  case EACCES:
  case EPERM:
  case EROFS:
  case ENAMETOOLONG:
  case ELOOP:
    return true;
  default:
    return false;
  }
}

caf::error classify_errno(caf::error err, int errno_code) {
  return permanent_errno(errno_code) ? make_permanent(std::move(err)) : err;
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  auto result = render(err.category(), err.code());
  auto ctx = context_text(err.context());
  if (!ctx.empty()) {
    result += ": ";
    result += ctx;
  }
  return result;
}

std::string message_of(const caf::error& err) {
  auto ctx = err ? context_text(err.context()) : std::string{};
  return ctx.empty() ? describe(err) : ctx;
}

void register_error_categories(caf::actor_system_config& cfg) {
  for (auto category : {connector_category, channel_category, config_category,
                        supervisor_category, topic_category, sql_category})
    cfg.add_error_category(category, [](uint8_t code, caf::atom_value cat,
                                        const caf::message& ctx) {
      auto s = render(cat, code);
      if (auto text = context_text(ctx); !text.empty())
        s += ": " + text;
      return s;
    });
}

} // namespace sluice

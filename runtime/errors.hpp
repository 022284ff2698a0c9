#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace sluice {

/// Errors of the outside world: files, processes, sockets, databases.
enum class connector_errc : uint8_t {
  io_error = 1,
  not_found,
  bad_input,
  process_failed,
  injected_failure,
  unsupported,
};

/// Errors of channels and their storage.
enum class channel_errc : uint8_t {
  corrupt_log = 1,
  disk_full,
  io_error,
  unknown_lease,
  stopped,
  events_lost, ///< a stop ended with undelivered events that no store keeps
  protocol,    ///< a message that breaks the written protocol (protocols.hpp)
};

/// Errors of topology files and command lines.
enum class config_errc : uint8_t {
  invalid = 1,
  not_found,
};

/// Errors the supervisor reports when it gives up.
enum class supervisor_errc : uint8_t {
  max_restarts_exceeded = 1,
  permanent_failure, ///< a child failed with an error no restart can cure
};

// Topics (issue 6).

/// Errors of topics and their shards.
enum class topic_errc : uint8_t {
  disk_full = 1, ///< an append the disk limits refuse; nothing was written
  corrupt_log,   ///< damage a shard cannot repair by cutting a torn tail
  io_error,      ///< a read, write or sync of a shard's files failed
  shard_count_mismatch, ///< topic.meta holds another shard count
  unknown_topic,        ///< no topic of that name on this node
  no_committed_offset,  ///< a consumer group that committed nothing yet
  stopped,              ///< the shard or topic is stopping, or its log broke
  busy,                 ///< too many long polls held by a shard
  bad_request,          ///< a message that breaks the topic protocols
  bad_metadata,         ///< topic.meta or consumer-offsets unreadable
};

std::string to_string(topic_errc x);
caf::error make_error(topic_errc x);

// End of topics.

// The SQL engine (issue 7).

/// Errors of SQL scripts, their plans and running jobs.
enum class sql_errc : uint8_t {
  invalid_script = 1, ///< a script with lexical, syntax or semantic errors
  bad_plan,           ///< a job description the engine refuses (validate)
  protocol,           ///< a message that breaks an operator protocol
  state_limit,        ///< an operator's state outgrew sluice.state.max-bytes
  eval_error,         ///< an expression that cannot run (not a per-row error)
};

std::string to_string(sql_errc x);
caf::error make_error(sql_errc x);

// End of the SQL engine.

std::string to_string(connector_errc x);
std::string to_string(channel_errc x);
std::string to_string(config_errc x);
std::string to_string(supervisor_errc x);

caf::error make_error(connector_errc x);
caf::error make_error(channel_errc x);
caf::error make_error(config_errc x);
caf::error make_error(supervisor_errc x);

/// The project's error code enums.
template <class E>
concept sluice_errc =
    std::is_same_v<E, connector_errc> || std::is_same_v<E, channel_errc> ||
    std::is_same_v<E, config_errc> || std::is_same_v<E, supervisor_errc> ||
    std::is_same_v<E, topic_errc> || std::is_same_v<E, sql_errc>;

template <sluice_errc E>
caf::error make_error(E code, std::string context) {
  auto err = make_error(code);
  return caf::error{err.code(), err.category(),
                    caf::make_message(std::move(context))};
}

/// Marks `err` permanent: trying again cannot succeed (a file where a
/// directory must be, a directory this process may not write, a command
/// that does not exist). Keeps its code, category and text.
caf::error make_permanent(caf::error err);

/// True for errors marked permanent and for configuration errors; the
/// supervisor does not restart a component that fails with one.
bool is_permanent(const caf::error& err);

/// True for errno values that no retry cures when creating or writing a
/// path: ENOTDIR, EEXIST, EISDIR, EACCES, EPERM, EROFS, ENAMETOOLONG, ELOOP.
bool permanent_errno(int code);

/// `err`, marked permanent when `errno_code` is (see `permanent_errno`).
caf::error classify_errno(caf::error err, int errno_code);

/// Renders any error, the project's own and CAF's, for logs and users.
std::string describe(const caf::error& err);

/// The error's own text without its category ("cannot open x", not "I/O
/// error: cannot open x"), for a message that names its own kind; all of
/// `describe` when it has no text.
std::string message_of(const caf::error& err);

/// Registers the project's error categories with an actor system config.
void register_error_categories(caf::actor_system_config& cfg);

} // namespace sluice

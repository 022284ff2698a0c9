// Flume sources, interceptors and sinks to sluice connectors.
#include <algorithm>
#include <cctype>

#include "config/flume_mapper.hpp"
#include "config/topology_detail.hpp"
#include "connectors/registry.hpp"
#include "connectors/topic.hpp"
#include "runtime/errors.hpp"

namespace sluice::flume {

namespace {

/// A Flume type written as a short name or as its class name.
std::string type_name(std::string t) {
  t = lower(std::move(t));
  static const std::map<std::string, std::string> classes = {
      {"org.apache.flume.source.execsource", "exec"},
      {"org.apache.flume.source.taildir.taildirsource", "taildir"},
      {"org.apache.flume.source.netcatsource", "netcat"},
      {"org.apache.flume.source.avrosource", "avro"},
      {"org.apache.flume.source.spooldirectorysource", "spooldir"},
      {"org.apache.flume.sink.rollingfilesink", "file_roll"},
      {"org.apache.flume.sink.loggersink", "logger"},
      {"org.apache.flume.sink.nullsink", "null"},
      {"org.apache.flume.sink.avrosink", "avro"},
      {"org.apache.flume.interceptor.timestampinterceptor$builder",
       "timestamp"},
      {"org.apache.flume.interceptor.hostinterceptor$builder", "host"},
      {"org.apache.flume.interceptor.staticinterceptor$builder", "static"},
      {"org.apache.flume.interceptor.regexfilteringinterceptor$builder",
       "regex_filter"},
      {"org.apache.flume.interceptor.regexextractorinterceptor$builder",
       "regex_extractor"},
  };
  if (auto i = classes.find(t); i != classes.end())
    return i->second;
  return t;
}

bool glob_special(char c) {
  return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
}

/// The glob for a TAILDIR file group: Flume's value is a directory and a
/// regular expression over the file names in it. Only expressions a glob
/// can say map: literals, `.`, `.*`, `.+` and escaped characters.
std::optional<std::string> group_glob(const std::string& value,
                                      std::string& why) {
  auto slash = value.rfind('/');
  auto dir =
      slash == std::string::npos ? std::string{} : value.substr(0, slash + 1);
  std::string_view re{value};
  re.remove_prefix(dir.size());
  if (std::any_of(dir.begin(), dir.end(), glob_special)) {
    why = "the directory part '" + dir + "' must be a plain directory";
    return std::nullopt;
  }
  if (re.starts_with('^'))
    re.remove_prefix(1);
  if (re.ends_with('$') && !re.ends_with("\\$"))
    re.remove_suffix(1);
  std::string glob = dir;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    char next = i + 1 < re.size() ? re[i + 1] : '\0';
    if (c == '\\') {
      if (next == '\0' || std::isalnum(static_cast<unsigned char>(next))) {
        why = "the escape '\\" + std::string(1, next) + "' has no glob form";
        return std::nullopt;
      }
      if (glob_special(next))
        glob += '\\';
      glob += next;
      ++i;
    } else if (c == '.' && next == '*') {
      glob += '*';
      ++i;
    } else if (c == '.' && next == '+') {
      glob += "?*";
      ++i;
    } else if (c == '.') {
      glob += '?';
    } else if (std::string_view{"*+?|()[]{}^$"}.find(c) !=
               std::string_view::npos) {
      why = "'" + std::string(1, c) + "' at " + std::to_string(i + 1) +
            " of the file name pattern has no glob form (only literals, "
            "'.', '.*', '.+' and escapes map)";
      return std::nullopt;
    } else {
      glob += c;
    }
  }
  return glob;
}

} // namespace

// -- sources ----------------------------------------------------------------

void mapper::map_source(component& c, topology_spec& out) {
  source_spec s;
  s.name = c.name;
  s.where = c.where;
  auto* type = take(c, "type");
  if (!type) {
    error(c.where,
          "source '" + c.name + "' has no type: set " + full_key(c, "type"));
    take_all(c);
    return;
  }
  auto t = type_name(text(*type));
  if (auto* p = take(c, "channels")) {
    set_origin(c, "channel", *p);
    auto xs = list(*p);
    if (xs.empty())
      error(p->at(0), p->key + " must name the source's channel");
    else if (xs.size() > 1)
      error(xs[1].where, p->key + " names " + std::to_string(xs.size()) +
                             " channels; a sluice source feeds one channel "
                             "(Flume's replicating fan-out does not map)");
    else
      s.channel = xs[0].text;
  } else {
    error(c.where, "source '" + c.name + "' has no channel: set " +
                       full_key(c, "channels"));
  }
  if (auto* p = take(c, "selector.type"); p && lower(text(*p)) != "replicating")
    error(p->at(0), p->key + " '" + text(*p) +
                        "' does not map: a sluice source feeds one channel");
  map_interceptors(c, s);
  std::optional<size_t> batch;
  size_t flume_batch = 100;
  if (t == "exec") {
    s.type = "exec";
    apply(c,
          {{"command", "command", conv::string},
           {"restart", "restart", conv::boolean},
           {"restartThrottle", "restart_throttle", conv::millis},
           {"logStdErr", "log_stderr", conv::boolean}},
          s.opts);
    needs(c, "exec source", "command");
    if (auto* p = take(c, "shell")) {
      auto sh = text(*p);
      if (sh != "/bin/sh -c" && sh != "sh -c")
        error(p->at(0), p->key + " '" + sh +
                            "' does not map: sluice runs every command "
                            "with /bin/sh -c");
    }
    if (auto* p = take(c, "charset"); p && lower(text(*p)) != "utf-8")
      error(p->at(0), p->key + " '" + text(*p) +
                          "' does not map: sluice reads UTF-8 lines");
    apply(c, {{"batchTimeout", "a batch goes to the channel as soon as the "
                               "command's output pauses"}});
    batch = this->batch(c, "batchSize");
    flume_batch = 20;
  } else if (t == "taildir") {
    s.type = "taildir";
    string_map groups;
    if (auto* p = take(c, "filegroups")) {
      set_origin(c, "filegroups", *p);
      auto names = list(*p);
      if (names.empty())
        error(p->at(0), p->key + " must name at least one file group");
      for (auto& g : names) {
        auto* path = take(c, "filegroups." + g.text);
        if (!path) {
          error(g.where, "file group '" + g.text + "' has no files: set " +
                             full_key(c, "filegroups." + g.text));
          continue;
        }
        std::string why;
        if (auto glob = group_glob(text(*path), why))
          groups[g.text] = *glob;
        else
          error(path->at(0), path->key + ": " + why);
      }
    } else {
      needs(c, "TAILDIR source", "filegroups");
    }
    for (auto& [g, p] : take_prefix(c, "filegroups."))
      if (c.asked.count("filegroups." + g) == 0)
        error(p->where, p->key + ": file group '" + g + "' is not listed in " +
                            full_key(c, "filegroups"));
    s.opts.set("filegroups", std::move(groups));
    needs(c, "TAILDIR source", "positionFile",
          " (sluice keeps its own position format; Flume's default file is "
          "not assumed)");
    apply(c,
          {{"positionFile", "position_file", conv::string},
           {"fileHeader", "file_header", conv::boolean},
           {"fileHeaderKey", "file_header_key", conv::string},
           {"skipToEnd", "skip_to_end", conv::boolean}},
          s.opts);
    apply(c, {{"writePosInterval", "sluice records positions as the channel "
                                   "commits"},
              {"idleTimeout", "sluice keeps files open up to max_open_files "
                              "and closes the idle ones then"},
              {"cachePatternMatching", "sluice reads the globs at each scan"}});
    batch = this->batch(c, "batchSize");
  } else if (t == "netcat") {
    s.type = "tcp";
    // Flume's default: one acknowledgement per event.
    s.opts.set("ack", true);
    apply(c,
          {{"bind", "bind", conv::string},
           {"port", "port", conv::port},
           {"max-line-length", "max_line_length", conv::integer},
           {"ack-every-event", "ack", conv::boolean}},
          s.opts);
  } else if (t == "avro") {
    // Another node's avro sink sends here: a forward link.
    s.type = "forward";
    apply(c, {{"bind", "bind", conv::string}, {"port", "port", conv::port}},
          s.opts);
    apply(c, {{"threads", "sluice serves the link with its own actors"}});
    needs(c, "avro source", "bind");
    needs(c, "avro source", "port");
  } else {
    if (t == "spooldir")
      error(type->at(0), type->key + " 'spooldir' is not supported: follow the "
                                     "directory's files with type = TAILDIR "
                                     "(filegroups.NAME = DIR/.*) instead");
    else
      error(type->at(0), type->key + ": source type '" + text(*type) +
                             "' does not map; sluice maps exec, TAILDIR, "
                             "netcat and avro");
    take_all(c);
    return;
  }
  if (batch && *batch > 0)
    s.batch_size = *batch;
  else
    source_batches_[c.name] = flume_batch;
  leftovers(c, text(*type) + " source '" + c.name + "'");
  if (s.type == "tcp") {
    needs(c, "netcat source", "bind", " (an address to listen on)");
    needs(c, "netcat source", "port");
  }
  check_connector("source", s.name, s.type, s.opts, s.where);
  out.sources.push_back(std::move(s));
}

// -- interceptors -----------------------------------------------------------

void mapper::map_interceptors(component& c, source_spec& s) {
  std::vector<item> names;
  if (auto* p = take(c, "interceptors"))
    names = list(*p);
  std::set<std::string> listed;
  for (auto& n : names) {
    listed.insert(n.text);
    // Each interceptor is a component of its own under the source's.
    component ic;
    ic.name = n.text;
    ic.kind = "interceptor";
    ic.prefix = c.prefix + "interceptors." + n.text + ".";
    ic.where = n.where;
    for (auto& [tail, p] : c.props)
      if (tail.starts_with("interceptors." + n.text + "."))
        ic.props[tail.substr(n.text.size() + 14)] = p;
    for (auto& [tail, _] : ic.props)
      c.taken.insert("interceptors." + n.text + "." + tail);
    auto what = "interceptor '" + n.text + "' of source '" + c.name + "'";
    auto* type = take(ic, "type");
    if (!type) {
      error(n.where, what + " has no type: set " + full_key(ic, "type"));
      continue;
    }
    auto t = type_name(text(*type));
    interceptor_spec spec;
    spec.where = n.where;
    if (t == "timestamp") {
      spec.type = "timestamp";
      spec.opts.set("preserve_existing", false);
      apply(ic,
            {{"headerName", "header", conv::string},
             {"preserveExisting", "preserve_existing", conv::boolean}},
            spec.opts);
    } else if (t == "host") {
      spec.type = "host";
      spec.opts.set("use_ip", true);
      spec.opts.set("preserve_existing", false);
      apply(ic,
            {{"hostHeader", "header", conv::string},
             {"useIP", "use_ip", conv::boolean},
             {"preserveExisting", "preserve_existing", conv::boolean}},
            spec.opts);
    } else if (t == "static") {
      spec.type = "static";
      spec.opts.set("key", std::string{"key"});
      spec.opts.set("value", std::string{"value"});
      apply(ic,
            {{"key", "key", conv::string},
             {"value", "value", conv::string},
             {"preserveExisting", "preserve_existing", conv::boolean}},
            spec.opts);
    } else if (t == "regex_filter") {
      spec.type = "regex_filter";
      spec.opts.set("regex", std::string{".*"});
      apply(ic,
            {{"regex", "regex", conv::string},
             {"excludeEvents", "exclude", conv::boolean}},
            spec.opts);
    } else if (t == "regex_extractor") {
      spec.type = "regex_extract";
      apply(ic, {{"regex", "regex", conv::string}}, spec.opts);
      if (ic.props.count("regex") == 0)
        error(n.where, what + " needs " + full_key(ic, "regex"));
      std::vector<std::string> headers;
      if (auto* p = take(ic, "serializers")) {
        for (auto& sz : list(*p)) {
          auto* name = take(ic, "serializers." + sz.text + ".name");
          if (!name)
            error(sz.where,
                  "serializer '" + sz.text + "' of " + what + " needs " +
                      full_key(ic, "serializers." + sz.text + ".name"));
          else
            headers.push_back(text(*name));
          if (auto* st = take(ic, "serializers." + sz.text + ".type")) {
            auto v = lower(text(*st));
            if (v != "default" &&
                v != "org.apache.flume.interceptor."
                     "regexextractorinterceptorpassthroughserializer")
              error(st->at(0), st->key + " '" + text(*st) +
                                   "' does not map: captures become headers "
                                   "as they are");
          }
        }
      } else {
        error(n.where, what + " needs " + full_key(ic, "serializers"));
      }
      spec.opts.set("headers", std::move(headers));
    } else {
      error(type->at(0), type->key + ": interceptor type '" + text(*type) +
                             "' does not map; sluice maps timestamp, host, "
                             "static, regex_filter and regex_extractor");
      continue;
    }
    leftovers(ic, what);
    if (auto* it = registry_.find_interceptor(spec.type)) {
      spec.opts.apply_fallbacks(it->options);
      auto msgs = check_options(spec.opts, it->options);
      for (auto& msg : msgs)
        error(n.where, spec.type + " " + what + ": " + msg);
      if (msgs.empty())
        if (auto made = it->make(spec.opts); !made) {
          auto at =
              ic.props.count("regex") > 0 ? ic.props["regex"]->at(0) : n.where;
          error(at, what + ": " + describe(made.error()));
        }
    }
    s.interceptors.push_back(std::move(spec));
  }
  for (auto& [tail, p] : c.props) {
    if (!tail.starts_with("interceptors.") || c.taken.count(tail) > 0)
      continue;
    c.taken.insert(tail);
    auto name = tail.substr(13, tail.find('.', 13) - 13);
    error(p->where, p->key + ": interceptor '" + name + "' is not listed in " +
                        full_key(c, "interceptors"));
  }
}

// -- sinks ------------------------------------------------------------------

std::optional<size_t> mapper::map_datahub(component& c, sink_spec& s) {
  const std::string what = "DatahubSink";
  apply(c,
        {{"datahub.topic", "topic", conv::string},
         {"shard.number", "shards", conv::integer},
         {"shard.maxTimeOut", "timeout", conv::seconds}},
        s.opts);
  needs(c, what, "datahub.topic", " (the topic written)");
  // Credentials and the DataHub project have no meaning for a sluice topic:
  // accepted, named once as unused, their values never shown.
  for (auto* tail :
       {"datahub.accessID", "datahub.accessKey", "datahub.project"})
    if (auto* p = take(c, tail))
      unused_.push_back(p);
  if (auto* p = take(c, "datahub.endPoint")) {
    constexpr std::string_view scheme = "sluice://";
    auto v = text(*p);
    if (lower(v.substr(0, scheme.size())) == scheme) {
      auto address = v.substr(scheme.size());
      set_origin(c, "address", *p);
      if (auto parsed = parse_topic_address(address); !parsed)
        error(p->at(0), p->key +
                            " must be sluice://HOST:PORT (the control "
                            "port of the sluice node holding the "
                            "topic): '" +
                            address + "' has " +
                            (address.find(':') == std::string::npos
                                 ? std::string{"no port"}
                                 : std::string{"a bad host or port"}));
      else
        s.opts.set("address", address);
    } else {
      // A DataHub URL: nothing sluice can reach. Its value is not shown
      // (a URL may hold credentials).
      unused_.push_back(p);
      error(p->at(0), p->key +
                          " names a DataHub endpoint, which sluice does not "
                          "use; the topic lives on a sluice node: write " +
                          p->key +
                          " = sluice://HOST:PORT with that node's control "
                          "port");
    }
  } else {
    needs(c, what, "datahub.endPoint",
          " = sluice://HOST:PORT (the control port of the sluice node "
          "holding the topic)");
  }
  if (auto* p = take(c, "serializer")) {
    if (lower(text(*p)) != "delimited")
      error(p->at(0), p->key + " '" + text(*p) +
                          "' does not map: sluice keeps each line as the "
                          "record's body, as DELIMITED does (the field "
                          "names are kept, not checked yet)");
  }
  if (auto* p = take(c, "serializer.delimiter")) {
    // A blank is a delimiter too: keep it when the value is only that.
    auto d = text(*p);
    s.opts.set("delimiter", d.empty() ? p->value : d);
    set_origin(c, "delimiter", *p);
    if (p->value.empty())
      error(p->at(0), p->key + " must not be empty");
  }
  if (auto* p = take(c, "serializer.fieldnames")) {
    std::vector<std::string> fields;
    for (auto& x : list(*p, true))
      fields.push_back(x.text);
    if (fields.empty())
      error(p->at(0), p->key + " must name at least one field");
    s.opts.set("fields", std::move(fields));
    set_origin(c, "fields", *p);
  }
  if (auto* p = take(c, "serializer.charset")) {
    auto v = lower(text(*p));
    if (v != "utf-8" && v != "utf8")
      error(p->at(0), p->key + " '" + text(*p) +
                          "' does not map: sluice keeps a line's bytes as "
                          "they are (UTF-8)");
  }
  return this->batch(c, "batchSize");
}

void mapper::map_sink(component& c, topology_spec& out) {
  sink_spec s;
  s.name = c.name;
  s.where = c.where;
  auto* type = take(c, "type");
  if (!type) {
    error(c.where,
          "sink '" + c.name + "' has no type: set " + full_key(c, "type"));
    take_all(c);
    return;
  }
  auto t = type_name(text(*type));
  if (auto* p = take(c, "channel")) {
    set_origin(c, "channel", *p);
    s.channel = text(*p);
    if (s.channel.empty())
      error(p->at(0), p->key + " must name the sink's channel");
  } else {
    error(c.where, "sink '" + c.name + "' has no channel: set " +
                       full_key(c, "channel"));
  }
  std::optional<size_t> batch;
  if (t == "file_roll") {
    s.type = "file";
    // Flume rolls every 30 s unless told otherwise.
    s.opts.set("roll_interval", int64_t{30'000});
    apply(c,
          {{"sink.directory", "directory", conv::string},
           {"sink.rollInterval", "roll_interval", conv::seconds},
           {"sink.pathManager.prefix", "prefix", conv::string},
           {"sink.pathManager.extension", "suffix", conv::string}},
          s.opts);
    needs(c, "file_roll sink", "sink.directory");
    if (auto* p = take(c, "sink.pathManager");
        p && lower(text(*p)) != "default")
      error(p->at(0), p->key + " '" + text(*p) +
                          "' does not map: sluice names files by prefix, "
                          "time and counter (DEFAULT)");
    if (auto* p = take(c, "sink.serializer"); p && lower(text(*p)) != "text")
      error(p->at(0), p->key + " '" + text(*p) +
                          "' does not map: sluice writes events as text "
                          "lines (TEXT)");
    if (auto* p = take(c, "sink.serializer.appendNewline"))
      if (auto b = boolean(*p); b && !*b)
        error(p->at(0), p->key + " = false does not map: sluice writes one "
                                 "event per line");
    batch = this->batch(c, "sink.batchSize");
  } else if (t == "logger") {
    s.type = "console";
    // Flume's logger shows the headers too.
    s.opts.set("headers", true);
  } else if (t == "null") {
    s.type = "null";
    batch = this->batch(c, "batchSize");
  } else if (t == "avro") {
    // A forward link to another node's avro (forward) source.
    s.type = "forward";
    apply(c,
          {{"hostname", "host", conv::string},
           {"port", "port", conv::port},
           {"request-timeout", "timeout", conv::millis},
           {"connect-timeout", "connect_timeout", conv::millis}},
          s.opts);
    apply(c, {{"maxIoWorkers", "sluice serves the link with its own actors"}});
    needs(c, "avro sink", "hostname");
    needs(c, "avro sink", "port");
    batch = this->batch(c, "batch-size");
  } else if (t == "com.aliyun.datahub.flume.sink.datahubsink") {
    s.type = "topic";
    batch = map_datahub(c, s);
  } else {
    error(type->at(0), type->key + ": sink type '" + text(*type) +
                           "' does not map; sluice maps file_roll, logger, "
                           "null, avro and com.aliyun.datahub.flume.sink."
                           "DatahubSink");
    take_all(c);
    return;
  }
  if (batch && *batch > 0)
    s.batch_size = *batch;
  else
    sink_batches_[c.name] = 100;
  leftovers(c, text(*type) + " sink '" + c.name + "'");
  check_connector("sink", s.name, s.type, s.opts, s.where);
  out.sinks.push_back(std::move(s));
}

} // namespace sluice::flume

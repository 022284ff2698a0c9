#include "connectors/mariadb_table.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "runtime/errors.hpp"

namespace sluice::mariadb {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& ch : out)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

bool one_of(const std::string& x, std::initializer_list<std::string_view> xs) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

std::string names_of(const std::vector<server_column>& cols) {
  std::string out;
  for (auto& c : cols) {
    if (!out.empty())
      out += ", ";
    out += c.name;
  }
  return out;
}

caf::error refuse(std::string text) {
  return make_permanent(make_error(config_errc::invalid, std::move(text)));
}

} // namespace

caf::expected<std::vector<server_column>>
describe_table(connection& db, const std::string& table) {
  std::string sql = "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE "
                    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                    "DATABASE() AND TABLE_NAME = ";
  db.append_string(table, sql);
  sql += " ORDER BY ORDINAL_POSITION";
  auto rows = db.query(sql);
  if (!rows)
    return rows.error();
  std::vector<server_column> cols;
  for (auto& r : *rows) {
    server_column c;
    c.name = r[0].value_or("");
    c.data_type = lower(r[1].value_or(""));
    c.column_type = lower(r[2].value_or(""));
    c.nullable = r[3].value_or("YES") == "YES";
    cols.push_back(std::move(c));
  }
  return cols;
}

bool takes(const std::string& t, const columnar::data_type& type) {
  using columnar::type_id;
  switch (type.id) {
  case type_id::boolean:
    return one_of(t, {"tinyint", "smallint", "mediumint", "int", "bigint",
                      "bit", "boolean"});
  case type_id::int32:
    return one_of(t, {"int", "bigint", "decimal", "double"});
  case type_id::int64:
  case type_id::interval_ms:
    return one_of(t, {"bigint", "decimal", "double"});
  case type_id::float64:
    return one_of(t, {"double", "float", "decimal"});
  case type_id::decimal:
    return one_of(t, {"decimal", "double"});
  case type_id::string:
    return one_of(t, {"varchar", "char", "text", "tinytext", "mediumtext",
                      "longtext", "enum", "set", "json"});
  case type_id::timestamp:
    return one_of(t, {"datetime", "timestamp"});
  case type_id::null_type:
    return true;
  }
  return false;
}

caf::error check_table(connection& db, const std::string& table,
                       const columnar::schema& declared,
                       const std::vector<uint32_t>& primary_key,
                       const std::string& label, bool creatable) {
  auto cols = describe_table(db, table);
  if (!cols)
    return cols.error();
  auto where = fmt::format("MariaDB table '{}'", table);
  if (cols->empty())
    return refuse(fmt::format("{}: {} does not exist{}", label, where,
                              creatable ? " (set 'sink.create-table' = 'true' "
                                          "to have the job create it)"
                                        : ""));
  std::map<std::string, const server_column*> by_name;
  for (auto& c : *cols)
    by_name[lower(c.name)] = &c;
  for (auto& f : declared.fields) {
    auto i = by_name.find(lower(f.name));
    if (i == by_name.end())
      return refuse(fmt::format("{}: column '{}' is missing from {} (it has "
                                "{})",
                                label, f.name, where, names_of(*cols)));
    if (!takes(i->second->data_type, f.type))
      return refuse(fmt::format("{}: column '{}' is {} but {} in {}", label,
                                f.name, columnar::to_string(f.type),
                                i->second->column_type, where));
  }
  if (primary_key.empty())
    return {};
  // An upsert updates only when the key is a unique key of the table;
  // otherwise every change would add a row.
  std::string sql = "SELECT INDEX_NAME, COLUMN_NAME FROM "
                    "information_schema.STATISTICS WHERE TABLE_SCHEMA = "
                    "DATABASE() AND NON_UNIQUE = 0 AND TABLE_NAME = ";
  db.append_string(table, sql);
  auto rows = db.query(sql);
  if (!rows)
    return rows.error();
  std::map<std::string, std::set<std::string>> keys;
  for (auto& r : *rows)
    keys[r[0].value_or("")].insert(lower(r[1].value_or("")));
  std::set<std::string> want;
  std::string want_text;
  for (auto k : primary_key) {
    want.insert(lower(declared.fields[k].name));
    if (!want_text.empty())
      want_text += ", ";
    want_text += declared.fields[k].name;
  }
  for (auto& [name, columns] : keys)
    if (columns == want)
      return {};
  return refuse(fmt::format("{}: PRIMARY KEY ({}) is not a primary or unique "
                            "key of {}, so upserts would add rows instead of "
                            "updating them",
                            label, want_text, where));
}

std::string create_table_sql(const std::string& table,
                             const columnar::schema& declared,
                             const std::vector<uint32_t>& primary_key) {
  using columnar::type_id;
  std::string sql = "CREATE TABLE IF NOT EXISTS ";
  append_name(table, sql);
  sql += " (";
  for (size_t i = 0; i < declared.fields.size(); ++i) {
    auto& f = declared.fields[i];
    bool key = std::find(primary_key.begin(), primary_key.end(), i) !=
               primary_key.end();
    if (i > 0)
      sql += ", ";
    append_name(f.name, sql);
    switch (f.type.id) {
    case type_id::boolean:
      sql += " BOOLEAN";
      break;
    case type_id::int32:
      sql += " INT";
      break;
    case type_id::int64:
    case type_id::interval_ms:
    case type_id::null_type:
      sql += " BIGINT";
      break;
    case type_id::float64:
      sql += " DOUBLE";
      break;
    case type_id::decimal:
      // MariaDB's DECIMAL has at most 65 digits and 38 fraction digits;
      // ours at most 38 digits, so every declared type fits.
      sql += fmt::format(" DECIMAL({},{})", f.type.precision, f.type.scale);
      break;
    case type_id::string:
      sql += key ? " VARCHAR(255)" : " TEXT";
      break;
    case type_id::timestamp:
      sql += " DATETIME(3)";
      break;
    }
    if (!f.type.nullable || key)
      sql += " NOT NULL";
  }
  if (!primary_key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < primary_key.size(); ++i) {
      if (i > 0)
        sql += ", ";
      append_name(declared.fields[primary_key[i]].name, sql);
    }
    sql += ')';
  }
  sql += ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
  return sql;
}

} // namespace sluice::mariadb

#include "runtime/columnar/schema.hpp"

namespace sluice::columnar {

std::optional<size_t> schema::find(std::string_view name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == name)
      return i;
  return std::nullopt;
}

schema_ptr make_schema(std::vector<field> fields, int32_t rowtime) {
  auto s = std::make_shared<schema>();
  s->fields = std::move(fields);
  s->rowtime = rowtime;
  return s;
}

std::string to_string(const schema& s) {
  std::string out;
  for (size_t i = 0; i < s.fields.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += s.fields[i].name;
    out += ' ';
    out += to_string(s.fields[i].type);
    if (static_cast<int32_t>(i) == s.rowtime)
      out += " *ROWTIME*";
  }
  return out;
}

} // namespace sluice::columnar

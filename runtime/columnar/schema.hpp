#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/columnar/types.hpp"

namespace sluice::columnar {

/// One named, typed column of a schema.
struct field {
  std::string name;
  data_type type;

  friend bool operator==(const field&, const field&) = default;
};

/// The columns of a row batch, in order, and which one is the event time.
struct schema {
  std::vector<field> fields;
  int32_t rowtime = -1; ///< index of the event-time attribute, -1 none

  /// The index of the field called `name` (exact: Flink identifiers are
  /// case-sensitive), or none.
  std::optional<size_t> find(std::string_view name) const;

  size_t size() const noexcept { return fields.size(); }

  friend bool operator==(const schema&, const schema&) = default;
};

/// Schemas are shared, read-only, by every batch that carries them.
using schema_ptr = std::shared_ptr<const schema>;

/// Builds a shared schema.
schema_ptr make_schema(std::vector<field> fields, int32_t rowtime = -1);

/// "a BIGINT, b STRING NOT NULL" (for messages and --explain).
std::string to_string(const schema& s);

} // namespace sluice::columnar

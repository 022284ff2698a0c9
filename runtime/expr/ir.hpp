#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include "runtime/columnar/schema.hpp"
#include "runtime/columnar/types.hpp"

/// The expression IR: typed expressions as flat, serializable trees.
namespace sluice::expr {

/// What a node computes.
///
/// Operators are calls with the operator's symbol as the function name:
/// `=`, `<>`, `<`, `<=`, `>`, `>=`, `+`, `-`, `*`, `/`, `%` (binary) and
/// `NEG` (unary minus). Timestamp arithmetic uses `+` and `-` with an
/// interval_ms argument. `EXTRACT(unit FROM x)` is the call `EXTRACT` with a
/// string literal unit ("YEAR", "MONTH", ...) as its first argument.
enum class op : uint8_t {
  column,      ///< input column `index`
  literal,     ///< literal `index` of the tree
  call,        ///< built-in or registered function `function`
  cast,        ///< args[0] to `type`
  case_when,   ///< args: when1, then1, ..., [else]
  and_,        ///< args[0] AND args[1] (three-valued)
  or_,         ///< args[0] OR args[1] (three-valued)
  not_,        ///< NOT args[0]
  is_null,     ///< args[0] IS NULL
  is_not_null, ///< args[0] IS NOT NULL
  in_list,     ///< args[0] IN (args[1], ...)
  between,     ///< args[0] BETWEEN args[1] AND args[2]
  like,        ///< args[0] LIKE args[1] [ESCAPE args[2]]
};

/// The largest op value (for decoders that check a byte from the wire).
inline constexpr uint8_t max_op = static_cast<uint8_t>(op::like);

/// The SQL spelling of an op ("AND", "IS NULL", ...).
const char* to_string(op x) noexcept;

/// A literal value; std::monostate = NULL. Its meaning comes from the node's
/// type: int64_t holds INT, BIGINT, TIMESTAMP (ms) and INTERVAL (ms) values;
/// int128 the scaled value of a DECIMAL.
using scalar = std::variant<std::monostate, bool, int64_t, double,
                            columnar::int128, std::string>;

/// One node of a tree.
struct node {
  op kind = op::literal;
  columnar::data_type type;   ///< result type, set by the analyzer
  uint32_t index = 0;         ///< column: input column; literal: literal index
  std::string function;       ///< call: upper-case name ("SUBSTRING")
  std::vector<uint32_t> args; ///< children (node indices)
};

/// A typed expression as a flat tree: serializable, no pointers. Children
/// may come before or after their parent; `root` names the top node.
struct tree {
  std::vector<node> nodes;
  std::vector<scalar> literals;
  uint32_t root = 0;

  /// Appends a node and returns its index.
  uint32_t add(node n) {
    nodes.push_back(std::move(n));
    return static_cast<uint32_t>(nodes.size() - 1);
  }
  /// Appends a column reference.
  uint32_t add_column(uint32_t index, columnar::data_type type) {
    return add(node{op::column, type, index, {}, {}});
  }
  /// Appends a literal of `type`.
  uint32_t add_literal(scalar value, columnar::data_type type) {
    literals.push_back(std::move(value));
    return add(node{
        op::literal, type, static_cast<uint32_t>(literals.size() - 1), {}, {}});
  }
  /// Appends a node of `kind` over `args`.
  uint32_t add_op(op kind, columnar::data_type type,
                  std::vector<uint32_t> args) {
    return add(node{kind, type, 0, {}, std::move(args)});
  }
  /// Appends a call of `function` over `args`.
  uint32_t add_call(std::string function, columnar::data_type type,
                    std::vector<uint32_t> args) {
    return add(node{op::call, type, 0, std::move(function), std::move(args)});
  }
};

/// The wire form of one literal (a tag and the fields it uses).
struct literal_wire {
  uint8_t tag = 0; ///< the variant index
  int64_t i = 0;   ///< bool, int64_t; low half of int128
  int64_t hi = 0;  ///< high half of int128
  double d = 0;
  std::string s;
};

/// Converts a literal to its wire form.
literal_wire to_wire(const scalar& x);

/// Converts a wire form back; an unknown tag gives NULL.
scalar from_wire(const literal_wire& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, literal_wire& x) {
  return f(caf::meta::type_name("literal_wire"), x.tag, x.i, x.hi, x.d, x.s);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node& x) {
  return f(caf::meta::type_name("expr_node"), x.kind, x.type.id,
           x.type.precision, x.type.scale, x.type.nullable, x.index, x.function,
           x.args);
}

/// Literals travel in their wire form.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tree& x) {
  std::vector<literal_wire> wire;
  if constexpr (Inspector::reads_state) {
    wire.reserve(x.literals.size());
    for (auto& l : x.literals)
      wire.push_back(to_wire(l));
  }
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.literals.clear();
    for (auto& w : wire)
      x.literals.push_back(from_wire(w));
    return caf::none;
  });
  return f(caf::meta::type_name("expr_tree"), x.nodes, wire, x.root, load);
}

/// Renders a tree for --explain: `(0.908 * price)`,
/// `(MOD(auction, 123) = 0)`. Column i is `names[i]` (`$i` if out of
/// range).
std::string to_string(const tree& t, const std::vector<std::string>& names);

/// Renders a tree with the column names of `in`.
std::string to_string(const tree& t, const columnar::schema& in);

/// Checks the structure of a tree (indices in range, arities of the fixed
/// ops, no cycles): true when it can be compiled.
bool well_formed(const tree& t) noexcept;

} // namespace sluice::expr

#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "runtime/columnar/column.hpp"
#include "runtime/columnar/types.hpp"
#include "runtime/expr/ir.hpp"

/// Scalar functions: their type rules and their vectorized kernels.
namespace sluice::expr {

/// What a kernel sees besides its arguments.
struct eval_context {
  int64_t now_ms = 0; ///< CURRENT_TIMESTAMP, PROCTIME, UNIX_TIMESTAMP()
  /// Rows whose value became NULL because of an error: division by zero, a
  /// string that does not parse as the target type of a CAST or
  /// TO_TIMESTAMP, an overflowing DECIMAL. Flink raises instead; a stream
  /// processor that must not stop on one bad row counts and goes on.
  uint64_t errors = 0;
  /// Rows of the batch under evaluation (set by program::eval): the size
  /// of a result when a function has no argument column.
  size_t batch_rows = 0;
};

/// A vectorized kernel: computes `out` for the rows `rows` (ascending) of
/// `args`. Every argument column has the batch's number of rows; so must
/// `out` afterwards (rows outside `rows` hold any value). The kernel reads
/// parameters such as DECIMAL scales from the columns' types; `out` arrives
/// with the result type, and possibly holding a previous batch.
using kernel_fn = std::function<void(
    std::span<const columnar::column* const> args,
    std::span<const uint32_t> rows, columnar::column& out, eval_context& ctx)>;

/// Resolves argument types to a result type, or explains why not (the
/// analyzer's message).
using resolve_fn = std::function<caf::expected<columnar::data_type>(
    std::span<const columnar::data_type>)>;

/// One scalar function.
struct function_def {
  std::string name; ///< upper case
  resolve_fn resolve;
  /// The argument types the kernel takes for these argument types (after
  /// `resolve` accepted them): the compiler casts arguments to them. Empty:
  /// the arguments as they are.
  std::function<std::vector<columnar::data_type>(
      std::span<const columnar::data_type>)>
      coerce;
  /// Picks a typed kernel once, for the coerced argument types and the
  /// result type.
  std::function<kernel_fn(std::span<const columnar::data_type>,
                          const columnar::data_type&)>
      bind;
  bool deterministic = true; ///< false: CURRENT_TIMESTAMP, PROCTIME
  /// Optional: a resolver that also sees the constant arguments (null
  /// where an argument is not a literal), for result types that depend on
  /// them: ROUND(DECIMAL(p, s), r). `resolve_call` picks it when set.
  std::function<caf::expected<columnar::data_type>(
      std::span<const columnar::data_type>, std::span<const scalar* const>)>
      resolve_const;
};

/// Resolves a call of `f`: `resolve_const` with the constant arguments
/// when set, else `resolve`.
caf::expected<columnar::data_type>
resolve_call(const function_def& f, std::span<const columnar::data_type> args,
             std::span<const scalar* const> constants);

/// The error of a call that the type rules refuse.
caf::error type_error(std::string message);

/// "SUBSTRING expects (STRING, INT[, INT]), got (BIGINT)".
caf::error signature_error(std::string_view name, std::string_view expected,
                           std::span<const columnar::data_type> got);

/// Scalar functions by upper-case name.
class function_registry {
 public:
  /// Every function listed in issue 7, the operators (see ir.hpp) and LIKE.
  static function_registry builtin();

  /// Adds or replaces `f`.
  void add(function_def f);

  /// The function of that upper-case name, or null.
  const function_def* find(std::string_view upper_name) const;

  /// Names of every function, sorted.
  std::vector<std::string> names() const;

  /// An embedder's per-value C++ function, wrapped in a vectorized loop:
  /// `R(Args...)` with R and Args in {bool, int32_t, int64_t, double,
  /// std::string_view (arguments only), std::string}. NULL in -> NULL out.
  /// Arguments of another numeric type are cast by the compiler.
  template <class F>
  void add_scalar(std::string name, F fn);

  /// An embedder's vectorized function: full control.
  void add_vectorized(function_def f) { add(std::move(f)); }

 private:
  std::map<std::string, function_def, std::less<>> fns_;
};

// -- helpers kernels share ----------------------------------------------------

/// Sizes `out` to `n` rows for a fixed-width result, every row valid.
void prepare_fixed(columnar::column& out, size_t n);

/// True when no argument has a NULL.
inline bool no_nulls(std::span<const columnar::column* const> args) {
  for (auto* a : args)
    if (a->has_nulls())
      return false;
  return true;
}

/// True when every argument is valid at row `i`.
inline bool all_valid(std::span<const columnar::column* const> args,
                      uint32_t i) {
  for (auto* a : args)
    if (!a->valid(i))
      return false;
  return true;
}

/// Builds a string result column of `n` rows from values written at
/// ascending rows; the rows in between become empty strings.
class string_builder {
 public:
  string_builder(columnar::column& out, size_t n);
  ~string_builder();
  void put(uint32_t row, std::string_view s);
  void put_null(uint32_t row);

 private:
  void fill_to(uint32_t row);
  columnar::column& out_;
  size_t n_;
  size_t next_ = 0;
};

// -- per-value functions ------------------------------------------------------

namespace detail {

template <class T>
struct value_type_of {};
template <>
struct value_type_of<bool> {
  static columnar::data_type get() { return columnar::boolean_type(); }
};
template <>
struct value_type_of<int32_t> {
  static columnar::data_type get() { return columnar::int32_type(); }
};
template <>
struct value_type_of<int64_t> {
  static columnar::data_type get() { return columnar::int64_type(); }
};
template <>
struct value_type_of<double> {
  static columnar::data_type get() { return columnar::float64_type(); }
};
template <>
struct value_type_of<std::string_view> {
  static columnar::data_type get() { return columnar::string_type(); }
};
template <>
struct value_type_of<std::string> {
  static columnar::data_type get() { return columnar::string_type(); }
};

/// Reads argument `I` of type T at row `i`.
template <class T>
T read_arg(const columnar::column& c, uint32_t i) {
  if constexpr (std::is_same_v<T, std::string_view> ||
                std::is_same_v<T, std::string>)
    return T{c.str(i)};
  else if constexpr (std::is_same_v<T, bool>)
    return c.values<uint8_t>()[i] != 0;
  else
    return c.values<T>()[i];
}

template <class F, class R, class... Args>
struct scalar_wrapper {
  F fn;

  template <size_t... Is>
  R call(std::span<const columnar::column* const> args, uint32_t i,
         std::index_sequence<Is...>) const {
    return fn(read_arg<std::decay_t<Args>>(*args[Is], i)...);
  }

  void operator()(std::span<const columnar::column* const> args,
                  std::span<const uint32_t> rows, columnar::column& out,
                  eval_context& ctx) const {
    auto seq = std::index_sequence_for<Args...>{};
    if constexpr (std::is_same_v<R, std::string>) {
      string_builder b{out, ctx.batch_rows};
      for (auto i : rows) {
        if (all_valid(args, i))
          b.put(i, call(args, i, seq));
        else
          b.put_null(i);
      }
    } else {
      using store = std::conditional_t<std::is_same_v<R, bool>, uint8_t, R>;
      prepare_fixed(out, ctx.batch_rows);
      auto vals = out.values_mut<store>();
      for (auto i : rows) {
        if (all_valid(args, i))
          vals[i] = static_cast<store>(call(args, i, seq));
        else
          out.set_null(i);
      }
    }
  }
};

template <class F>
struct fn_traits : fn_traits<decltype(&F::operator())> {};
template <class C, class R, class... Args>
struct fn_traits<R (C::*)(Args...) const> {
  using result = R;
  using args = std::tuple<Args...>;
  template <class F>
  using wrapper = scalar_wrapper<F, R, Args...>;
  static std::vector<columnar::data_type> arg_types() {
    return {value_type_of<std::decay_t<Args>>::get()...};
  }
};
template <class C, class R, class... Args>
struct fn_traits<R (C::*)(Args...)> : fn_traits<R (C::*)(Args...) const> {};
template <class R, class... Args>
struct fn_traits<R (*)(Args...)> {
  using result = R;
  template <class F>
  using wrapper = scalar_wrapper<F, R, Args...>;
  static std::vector<columnar::data_type> arg_types() {
    return {value_type_of<std::decay_t<Args>>::get()...};
  }
};

/// The resolver of a per-value function: arguments castable to the
/// declared parameter types.
resolve_fn scalar_resolver(std::string name,
                           std::vector<columnar::data_type> params,
                           columnar::data_type result);

/// The coercion of a per-value function: the declared parameter types.
std::vector<columnar::data_type>
scalar_coercion(const std::vector<columnar::data_type>& params,
                std::span<const columnar::data_type> got);

} // namespace detail

template <class F>
void function_registry::add_scalar(std::string name, F fn) {
  using traits = detail::fn_traits<F>;
  using R = typename traits::result;
  auto params = traits::arg_types();
  auto result = detail::value_type_of<R>::get();
  function_def def;
  def.name = name;
  def.resolve = detail::scalar_resolver(name, params, result);
  def.coerce = [params](std::span<const columnar::data_type> got) {
    return detail::scalar_coercion(params, got);
  };
  using wrapper = typename traits::template wrapper<F>;
  def.bind = [fn](std::span<const columnar::data_type>,
                  const columnar::data_type&) -> kernel_fn {
    return wrapper{fn};
  };
  add(std::move(def));
}

} // namespace sluice::expr

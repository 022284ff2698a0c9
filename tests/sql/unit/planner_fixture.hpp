#pragma once

// Shared by the planner tests: compile a script with the analyzer's
// fixture and check every job it makes.
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/errors.hpp"
#include "runtime/expr/program.hpp"
#include "sql/script.hpp"
#include "tests/sql/unit/analyzer_fixture.hpp"

namespace sluice::sql::testing {

/// The schema a stage's core reads: the producer's out after `pre`.
inline columnar::schema core_input(const job_spec& j, const stage_spec& s,
                                   size_t port = 0) {
  if (auto* sc = std::get_if<scan_stage>(&s.core))
    return sc->table.physical;
  for (auto& e : s.inputs)
    if (e.port == port)
      return j.stages.at(e.from_stage).out;
  return {};
}

/// The schema a stage's core writes, before `post`.
inline columnar::schema core_output(const job_spec& j, const stage_spec& s) {
  columnar::schema in = s.pre.empty() ? core_input(j, s) : s.pre.back().out;
  columnar::schema out;
  auto grouped = [&](const std::vector<uint32_t>& keys,
                     const std::vector<agg_call>& aggs, bool windowed) {
    for (auto k : keys)
      out.fields.push_back(in.fields.at(k));
    if (windowed)
      for (auto n : {"window_start", "window_end", "window_time"})
        out.fields.push_back({n, columnar::timestamp_type(false)});
    for (auto& a : aggs)
      out.fields.push_back({"agg", a.out});
  };
  if (auto* w = std::get_if<window_stage>(&s.core))
    grouped(w->keys, w->aggs, true);
  else if (auto* g = std::get_if<group_stage>(&s.core))
    grouped(g->keys, g->aggs, false);
  else if (std::holds_alternative<join_stage>(s.core)) {
    out = core_input(j, s, 0);
    for (auto& f : core_input(j, s, 1).fields)
      out.fields.push_back(f);
  } else
    out = in;
  return out;
}

/// Every job is sound (validate) and every fused expression compiles over
/// the columns it reads: the planner's renumbering is right.
inline void require_sound(const job_spec& j) {
  auto fns = ::sluice::expr::function_registry::builtin();
  auto problems = validate(j);
  std::string text;
  for (auto& p : problems)
    text += p + "\n";
  INFO(to_text(j) << text);
  REQUIRE(problems.empty());
  auto compile_steps = [&](const std::vector<calc_step>& steps,
                           columnar::schema in) {
    for (auto& step : steps) {
      for (auto& e : step.exprs) {
        INFO(::sluice::expr::to_string(e, in)
             << " over (" << columnar::to_string(in) << ")");
        auto p = ::sluice::expr::program::compile(e, in, fns);
        REQUIRE(p);
        if (!step.is_filter)
          CHECK(p->type().id != columnar::type_id::null_type);
      }
      if (step.is_filter)
        CHECK(step.out.fields.size() == in.fields.size());
      else
        CHECK(step.out.fields.size() == step.exprs.size());
      in = step.out;
    }
  };
  for (auto& s : j.stages) {
    compile_steps(s.pre, core_input(j, s));
    compile_steps(s.post, core_output(j, s));
    if (auto* jn = std::get_if<join_stage>(&s.core); jn && jn->residual)
      REQUIRE(::sluice::expr::program::compile(*jn->residual, core_output(j, s),
                                               fns));
    if (auto* sc = std::get_if<scan_stage>(&s.core);
        sc && sc->table.watermark) {
      auto in = sc->watermark_step == 0 ? sc->table.physical
                                        : s.pre.at(sc->watermark_step - 1).out;
      REQUIRE(::sluice::expr::program::compile(*sc->table.watermark, in, fns));
    }
  }
}

/// Compiles the Nexmark DDL followed by `text`; requires success.
inline compiled_script compile_ok(std::string_view text,
                                  compile_options opts = {}) {
  std::string script = std::string{nexmark_ddl} + std::string{text};
  std::vector<sql_diagnostic> diags;
  auto c = compile_script(script, "test.sql",
                          ::sluice::expr::function_registry::builtin(),
                          test_connectors(), opts, diags);
  INFO(render(diags, script));
  INFO((c ? std::string{} : ::sluice::describe(c.error())));
  REQUIRE(diags.empty());
  REQUIRE(c);
  for (auto& j : c->jobs)
    require_sound(j);
  return std::move(*c);
}

template <class T>
inline const T& core(const stage_spec& s) {
  REQUIRE(std::holds_alternative<T>(s.core));
  return std::get<T>(s.core);
}

inline std::vector<std::string> kinds(const job_spec& j) {
  std::vector<std::string> out;
  for (auto& s : j.stages)
    out.emplace_back(core_name(s));
  return out;
}

} // namespace sluice::sql::testing

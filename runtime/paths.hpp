#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace sluice {

/// Why a directory cannot be used: the errno and a sentence naming the path.
struct path_failure {
  int code = 0;
  std::string text;
};

/// Creates `dir` with its parents and checks that this process may create
/// files in it. Callers turn a failure into an error with `classify_errno`.
std::optional<path_failure> prepare_directory(const std::filesystem::path& dir);

/// The nearest existing part of `dir` (itself or an ancestor) when it is not
/// a directory, so that `dir` can never be created; empty otherwise. Only
/// looks: creates nothing.
std::filesystem::path blocking_file(const std::filesystem::path& dir);

} // namespace sluice

// The one logging channel: fmt-formatted lines on standard error, "dpscan: " first.
#pragma once

#include <cstdio>
#include <utility>

#include <fmt/core.h>

namespace dpscan::log {

inline int& level() {
  static int l = 0;  // -1 quiet, 0 normal, 1 verbose
  return l;
}

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 0) fmt::print(stderr, "dpscan: {}\n", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 1) fmt::print(stderr, "dpscan: {}\n", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stderr, "dpscan: error: {}\n", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace dpscan::log

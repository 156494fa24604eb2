// The one logging channel: fmt-formatted lines on standard error, "dpscan: " first.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include <fmt/core.h>

namespace dpscan::log {

inline int& level() {
  static int l = 0;  // -1 quiet, 0 normal, 1 verbose
  return l;
}

// Writes with fputs, which reports a failed write by its return value: a closed or full
// standard error must not throw out of a log line (fmt::print would, and an error message
// written while handling that exception would end the program with an abort).
inline void write_line(const std::string& line) {
  std::fputs(line.c_str(), stderr);
}

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 0)
    write_line(fmt::format("dpscan: {}\n", fmt::format(f, std::forward<Args>(args)...)));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 1)
    write_line(fmt::format("dpscan: {}\n", fmt::format(f, std::forward<Args>(args)...)));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line(fmt::format("dpscan: error: {}\n", fmt::format(f, std::forward<Args>(args)...)));
}

}  // namespace dpscan::log

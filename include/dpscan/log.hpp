// The one logging channel: fmt-formatted lines on standard error, "dpscan: " first.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "dpscan/text.hpp"

namespace dpscan::log {

inline int& level() {
  static int l = 0;  // -1 quiet, 0 normal, 1 verbose
  return l;
}

// The program's name at the start of every line ("dpscan", "dpscan-reflect").
inline std::string& program() {
  static std::string name = "dpscan";
  return name;
}

// Writes with fputs, which reports a failed write by its return value: a closed or full
// standard error must not throw out of a log line (fmt::print would, and an error message
// written while handling that exception would end the program with an abort).
// Messages may quote the user's input (a line of a file): control bytes and invalid UTF-8
// are escaped (text.hpp) so that nothing reaches the terminal raw, and the credentials of
// URLs (nats://USER:PASS@HOST) are masked, so that no password reaches a log.
inline void write_line(const char* prefix, const std::string& message) {
  std::fputs(fmt::format("{}: {}{}\n", program(), prefix, printable(mask_url_credentials(message)))
                 .c_str(),
             stderr);
}

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 0) write_line("", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void verbose(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 1) write_line("", fmt::format(f, std::forward<Args>(args)...));
}
// Something went wrong and the run goes on (shown unless --quiet).
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= 0) write_line("warning: ", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write_line("error: ", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace dpscan::log

// How target and exclusion lists are read, for IPv4 (IpSet) and IPv6 (Ip6Set) alike: items
// separated by commas and/or white space, files of such lists with '#' comments, and errors
// that name the file and line.
#pragma once

#include <filesystem>
#include <fstream>
#include <istream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {

// Calls f(item) for every non-empty item of `list` (separated by commas and/or white space).
template <typename F>
void for_each_spec(std::string_view list, F&& f) {
  size_t pos = 0;
  while (pos < list.size()) {
    const size_t end = list.find_first_of(", \t\r\n", pos);
    const std::string_view item =
        list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!item.empty()) f(item);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
}

// Calls f(text) for every line of `in` with its '#' comment removed; a UsageError thrown by f
// is thrown again with "SOURCE:LINE: " in front.
template <typename F>
void for_each_spec_line(std::istream& in, const std::string& source, F&& f) {
  std::string line;
  for (unsigned lineno = 1; std::getline(in, line); ++lineno) {
    std::string_view text = line;
    if (const size_t hash = text.find('#'); hash != std::string_view::npos) {
      text = text.substr(0, hash);
    }
    try {
      f(text);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}:{}: {}", source, lineno, e.what()));
    }
  }
  if (in.bad()) throw RuntimeError(fmt::format("{}: read error", source));
}

// Opens a list file, or throws a UsageError that says why not.
inline std::ifstream open_spec_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(fmt::format("cannot read '{}': it is a directory", path));
  }
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open '{}': no such file or not readable", path));
  return in;
}

}  // namespace dpscan

#include "target_specs.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/prefix_generator.hpp"
#include "dpscan/text.hpp"

namespace dpscan {

void add_target_specs(TargetSpecs& out, std::string_view list, bool generators) {
  size_t pos = 0;
  while (pos < list.size()) {
    const size_t end = list.find_first_of(", \t\r\n", pos);
    const std::string_view item =
        list.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!item.empty()) {
      if (item.find(':') == std::string_view::npos) {
        out.v4.add(parse_interval(item));
        out.any4 = true;
      } else if (is_generator_spec(item)) {
        if (!generators)
          throw UsageError(
              fmt::format("'{}': a prefix generator cannot be excluded; exclude "
                          "the prefix (without -INNER) instead",
                          printable(item, 80)));
        out.generators.emplace_back(item);
        out.any6 = true;
      } else {
        out.v6.add(parse_interval6(item));
        out.any6 = true;
      }
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
}

void add_target_file(TargetSpecs& out, const std::string& path, bool generators) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UsageError(fmt::format("cannot read '{}': it is a directory", path));
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot open '{}': no such file or not readable", path));
  std::string line;
  for (unsigned lineno = 1; std::getline(in, line); ++lineno) {
    std::string_view text = line;
    if (const size_t hash = text.find('#'); hash != std::string_view::npos)
      text = text.substr(0, hash);
    try {
      add_target_specs(out, text, generators);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}:{}: {}", path, lineno, e.what()));
    }
  }
  if (in.bad()) throw RuntimeError(fmt::format("{}: read error", path));
}

}  // namespace dpscan

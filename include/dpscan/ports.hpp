// Port lists: "22,80,8000-8100". Sorted, duplicates removed, 0 and anything above 65535
// rejected with a UsageError.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpscan {

std::vector<uint16_t> parse_ports(std::string_view list);
// "22,80,8000-8100": a sorted port list, runs collapsed.
std::string ports_text(const std::vector<uint16_t>& ports);

}  // namespace dpscan

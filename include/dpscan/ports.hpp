// Port lists: "22,80,8000-8100". Sorted, duplicates removed, 0 and anything above 65535
// rejected with a UsageError.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace dpscan {

std::vector<uint16_t> parse_ports(std::string_view list);

}  // namespace dpscan

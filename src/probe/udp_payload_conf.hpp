// The payload library's file format (config/udp-payloads.conf): one payload is a line
//   payload NAME PORT CHECK
// followed by its template, in lines "hex HEX-TEMPLATE" and "text TEXT-TEMPLATE" whose bytes
// are concatenated. Blank lines and lines starting with # are ignored.
#pragma once

#include <string_view>
#include <vector>

#include "dpscan/udp_payload.hpp"

namespace dpscan::udp {

// Throws UsageError "ORIGIN:LINE: ..." for a malformed file.
std::vector<Payload> parse_payload_conf(std::string_view text, std::string_view origin);

// The text of config/udp-payloads.conf, compiled in (udp_payloads_data.cpp.in).
std::string_view builtin_payload_conf();

}  // namespace dpscan::udp

// Reading back the ndjson records dpscan writes (encoders.cpp): one flat JSON object per line,
// a result ({"ip","port","status","ttl","timestamp","scan","reason", and "window", "proto",
// "validation_bits", "payload", "resp_len", "probe_len", "data" where the module writes
// them}) or a dry run's probe ({"ip","port"}, and "payload" for UDP), either family. For
// `dpscan collect`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/result.hpp"

namespace dpscan {

struct Record {
  bool probe = false;  // a dry run's {"ip","port"} or {"ip","port","payload"}
  Result result{};     // (result.slot is not in a record: see payload)
  std::string scan;
  std::string payload;        // UDP: the payload's name
  std::vector<uint8_t> data;  // UDP: the answer's bytes kept (hex in the record)
};

// nullopt for a line that is not one of dpscan's records.
std::optional<Record> parse_record(std::string_view line);

}  // namespace dpscan

// Reading back the ndjson records dpscan writes (encoders.cpp): one flat JSON object per line,
// a result ({"ip","port","status","ttl","window","timestamp","scan","reason"}) or a dry run's
// probe ({"ip","port"}). For `dpscan collect`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dpscan/result.hpp"

namespace dpscan {

struct Record {
  bool probe = false;  // a dry run's {"ip","port"}
  Result result{};
  std::string scan;
};

// nullopt for a line that is not one of dpscan's records.
std::optional<Record> parse_record(std::string_view line);

}  // namespace dpscan

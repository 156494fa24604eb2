// The names of the plan's enumerations, as options and summaries spell them.
#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/plan.hpp"

namespace dpscan {

OutputFormat parse_output_format(const std::string& name) {
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "ndjson") return OutputFormat::kNdjson;
  if (name == "list") return OutputFormat::kList;
  if (name == "xml") return OutputFormat::kXml;
  throw UsageError(fmt::format("output format '{}' is not one of csv, ndjson, list, xml", name));
}

RxChecksum parse_rx_checksum(const std::string& name) {
  if (name == "auto") return RxChecksum::kAuto;
  if (name == "verify") return RxChecksum::kVerify;
  if (name == "trust") return RxChecksum::kTrust;
  throw UsageError(fmt::format("--rx-checksum: '{}' is not one of auto, verify, trust", name));
}

std::string_view to_string(RxChecksum m) {
  switch (m) {
    case RxChecksum::kAuto:
      return "auto";
    case RxChecksum::kVerify:
      return "verify";
    case RxChecksum::kTrust:
      return "trust";
  }
  return "?";
}

std::string_view to_string(OutputFormat f) {
  switch (f) {
    case OutputFormat::kCsv:
      return "csv";
    case OutputFormat::kNdjson:
      return "ndjson";
    case OutputFormat::kList:
      return "list";
    case OutputFormat::kXml:
      return "xml";
  }
  return "?";
}

}  // namespace dpscan

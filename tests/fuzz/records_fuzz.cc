// libFuzzer target over what `dpscan collect` reads from a results stream, bytes another
// program could have published: parse_record() on each line. A record it accepts must
// encode back to a record it accepts with the same content (the ndjson encoder is the other
// side of the round trip); a dry run's probe record too (UDP's names its payload).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/records.hpp"
#include "dpscan/output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto rec = dpscan::parse_record(line);
  if (!rec) return 0;
  if (rec->probe) {
    // A dry run's probe, UDP's with its payload's name: the same back.
    dpscan::OutputContext ctx;
    if (!rec->payload.empty()) {
      ctx.protocol = dpscan::Proto::kUdp;
      ctx.slot_names = {rec->payload};
    }
    auto enc = dpscan::make_encoder(dpscan::OutputFormat::kNdjson, ctx, true);
    std::string again;
    enc->probe(dpscan::ProbeRecord{rec->result.ip, rec->result.port, 0}, again);
    again.pop_back();
    const auto back = dpscan::parse_record(again);
    if (!back || !back->probe || back->result.ip != rec->result.ip ||
        back->result.port != rec->result.port || back->payload != rec->payload)
      std::abort();
    return 0;
  }
  dpscan::OutputContext ctx;
  ctx.scan_name = rec->scan;
  auto enc = dpscan::make_encoder(dpscan::OutputFormat::kNdjson, ctx, false);
  std::string again;
  enc->result(dpscan::ResultView{rec->result, rec->data}, again);
  again.pop_back();
  const auto back = dpscan::parse_record(again);
  if (!back || back->result.ip != rec->result.ip || back->result.port != rec->result.port ||
      back->result.status != rec->result.status || back->result.ttl != rec->result.ttl ||
      back->result.window != rec->result.window || back->result.time_s != rec->result.time_s ||
      back->result.reason != rec->result.reason || back->result.proto != rec->result.proto ||
      back->result.validation_bits != rec->result.validation_bits)
    std::abort();
  return 0;
}

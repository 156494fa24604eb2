// libFuzzer target over the UDP payload parsers (docs/udp-payloads.md), text a user or a
// file hands dpscan: --udp-payload specs (PORT:hex:..., PORT:text:..., nmap:PORT|all[:FILE]),
// the template language itself (a payload file's raw bytes), the library file syntax
// (config/udp-payloads.conf) and nmap's nmap-payloads. The first byte picks the parser, the
// second a port or an address family; the rest is the text. What a parser accepts must be
// consistent: no payload over its size limit, every field inside the payload, and write()
// fills it for any cookie without reading or writing outside it (ASan). A parser may only
// throw UsageError (or TemplateError, which the callers turn into one).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/error.hpp"
#include "dpscan/udp_payload.hpp"
#include "probe/udp_payload_conf.hpp"
#include "probe/udp_payload_template.hpp"

namespace {

using namespace dpscan::udp;

void require(bool ok) {
  if (!ok) std::abort();
}

// The payload's invariants, and write() for a cookie and address derived from `seed`.
void exercise(const Payload& p, size_t max, size_t addr_len, uint8_t seed) {
  require(p.size() <= max);
  for (const Field& f : p.fields()) require(size_t{f.offset} + f.len <= p.size());
  PayloadCookie c;
  for (size_t i = 0; i < sizeof(c.b); ++i) c.b[i] = static_cast<uint8_t>(seed * 31 + i);
  std::vector<uint8_t> dst(addr_len, seed);
  std::vector<uint8_t> out(p.size());
  p.write(out.data(), c, dst);
  // The answer a service might send back: the probe itself, and a prefix of it.
  const Echo e = p.check(out, c);
  require(!e.ok || e.bits <= 128);
  (void)p.check(std::span<const uint8_t>(out.data(), out.size() / 2), c);
}

void fuzz(uint8_t mode, uint8_t param, std::string_view text) {
  const bool v6 = param & 1;
  const size_t max = v6 ? 1232 : 1472, addr_len = v6 ? 16 : 4;
  const std::string port = std::to_string(1 + param);
  switch (mode % 7) {
    case 0:  // --udp-payload PORT:hex:...
      exercise(parse_payload_spec(port + ":hex:" + std::string(text), max), max, addr_len, param);
      break;
    case 1:  // --udp-payload PORT:text:...
      exercise(parse_payload_spec(port + ":text:" + std::string(text), max), max, addr_len, param);
      break;
    case 2: {  // a whole spec, as typed; only those that name no file (which would be read)
      const size_t colon = text.find(':');
      const auto rest = colon == std::string_view::npos ? text : text.substr(colon + 1);
      if (colon != std::string_view::npos && !rest.starts_with("hex:") &&
          !rest.starts_with("text:"))
        return;
      const size_t small = 1 + param * 4;  // a size limit of its own, and {dst}'s length given
      exercise(parse_payload_spec(text, small, addr_len), small, addr_len, param);
      break;
    }
    case 3: {  // a payload file's bytes (raw literal text between fields)
      TemplateBuilder t(addr_len);
      t.append(text, Literal::kRaw);
      if (t.bytes().size() > max) return;
      exercise(Payload("file", 9, t.bytes(), t.fields(), Check::kNone), max, addr_len, param);
      break;
    }
    case 4:  // the library file
      for (const Payload& p : parse_payload_conf(text, "fuzz.conf")) exercise(p, 65535, 0, param);
      break;
    case 5: {  // nmap-payloads, and the payloads for a port from it
      const auto entries = parse_nmap_payloads(text, "nmap-payloads");
      for (const NmapEntry& e : entries)
        for (const auto& [lo, hi] : e.ports) require(lo <= hi);
      const uint16_t ports[] = {static_cast<uint16_t>(param), 53, 161, 40000};
      for (const uint16_t p : ports)
        for (const Payload& pl : nmap_payloads_for(entries, "nmap-payloads", p, max))
          exercise(pl, max, addr_len, param);
      break;
    }
    case 6: {  // --udp-payload nmap:...
      const NmapSpec s = parse_nmap_spec(text);
      require(!s.path.empty());
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  try {
    fuzz(data[0], data[1], std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2));
  } catch (const dpscan::UsageError&) {
  } catch (const TemplateError&) {
  }
  return 0;
}

// UDP probe payloads (docs/udp-payloads.md): the bytes a UDP probe carries to make a service
// answer, with per-probe cookie material in the fields the protocol echoes, and the check that
// an answer echoes them. No DPDK: the UDP probe module calls write() per probe on the TX path
// and check() per answer on the RX path. Neither allocates nor throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dpscan::udp {

// 16 bytes of per-probe cookie material (two 64-bit PRF outputs), written by the module.
struct PayloadCookie {
  uint8_t b[16];
};

// ok=false: the answer's echoed field is wrong (drop as bad_echo). bits: how many cookie bits
// the answer proves (0 with ok=true when the protocol echoes nothing).
struct Echo {
  bool ok;
  uint8_t bits;
};

// How an answer is checked: a built-in protocol's parser, or nothing (users' payloads, which
// validate by the source port only).
enum class Check : uint8_t {
  kNone,
  kDns,
  kNtp,
  kSnmp,
  kSsdp,
  kMemcached,
  kNbns,
  kStun,
  kCoap,
  kIke
};

// A template field: bytes [offset, offset + len) of the payload, filled per probe.
struct Field {
  enum class Kind : uint8_t {
    kCookie,    // cookie bytes [src, src + len)
    kCookie31,  // four cookie bytes from src with the top bit cleared (a positive INTEGER)
    kRand,      // bytes [src, src + len) of a stream derived from the cookie
    kDst,       // the destination address
    kCase,      // the template's letters there, each in the case of one cookie bit from byte src
  };
  Kind kind;
  uint16_t offset;
  uint16_t len;
  uint16_t src;
};

class Payload {
 public:
  Payload(std::string name, uint16_t port, std::vector<uint8_t> bytes, std::vector<Field> fields,
          Check check);

  const std::string& name() const { return name_; }  // "dns", ...; "file:PATH", "hex", "text"
  uint16_t port() const { return port_; }
  size_t size() const { return bytes_.size(); }  // bytes written per probe
  Check check_kind() const { return check_; }
  const std::vector<Field>& fields() const { return fields_; }

  // Writes the payload for one probe to out (size() bytes): template fields filled from the
  // cookie and the destination address (4 or 16 bytes, network order).
  void write(uint8_t* out, const PayloadCookie& c, std::span<const uint8_t> dst) const;

  // An answer's UDP payload: whether it echoes this probe's cookie where the protocol echoes a
  // field, and how many cookie bits that proves ({true, 0} when the protocol echoes nothing).
  Echo check(std::span<const uint8_t> answer, const PayloadCookie& c) const;

  // The largest built-in payload that check() regenerates to compare with an answer.
  static constexpr size_t kMaxChecked = 512;

 private:
  std::string name_;
  uint16_t port_;
  Check check_;
  std::vector<uint8_t> bytes_;  // the template: literal bytes, fields' bytes as placeholders
  std::vector<Field> fields_;
};

// The built-in library (config/udp-payloads.conf, compiled in).
const std::vector<Payload>& builtin_payloads();        // all of them
std::vector<Payload> builtin_for_port(uint16_t port);  // those for one port (may be several)

// Users' payloads: "PORT:FILE", "PORT:hex:0a1b..", "PORT:text:..." (text with \r \n \t \\ \xNN
// escapes), with template fields ({cookie16}, {rand32}, {dst}, ...: docs/udp-payloads.md).
// Throws UsageError with a clear message: unknown field, bad hex, unreadable file, oversize
// (more than max_size bytes). The two-argument form takes {dst}'s length from max_size (1472,
// IPv4's largest unfragmented UDP payload: 4; 1232, IPv6's: 16); with another max_size, pass
// addr_len (4 or 16).
Payload parse_payload_spec(std::string_view spec, size_t max_size);
Payload parse_payload_spec(std::string_view spec, size_t max_size, size_t addr_len);

// nmap's UDP payloads (nmap-payloads(5), as /usr/share/nmap/nmap-payloads): those the file
// has for `port`, in the file's order, named "nmap:PATH:LINE" (the line of their "udp"). They
// carry no cookie: check() returns {true, 0} (validation by the source port only). Throws
// UsageError for an unreadable file, "PATH:LINE: ..." for a malformed one or a payload for
// `port` longer than max_size.
inline constexpr const char* kNmapPayloadsPath = "/usr/share/nmap/nmap-payloads";
std::vector<Payload> load_nmap_payloads(const std::string& path, uint16_t port, size_t max_size);

// The steps of load_nmap_payloads, for a scan that takes nmap's payloads for many ports:
// the file's text (UsageError naming the file, and Debian's package nmap-common that installs
// it, when it cannot be read), its entries (UsageError "ORIGIN:LINE: ..."), and those for one
// port as Payloads.
struct NmapEntry {
  std::vector<std::pair<uint16_t, uint16_t>> ports;  // inclusive ranges
  std::vector<uint8_t> bytes;
  size_t line = 0;  // of its "udp"
};
std::string read_nmap_payloads(const std::string& path);
std::vector<NmapEntry> parse_nmap_payloads(std::string_view text, std::string_view origin);
std::vector<Payload> nmap_payloads_for(const std::vector<NmapEntry>& entries,
                                       std::string_view origin, uint16_t port, size_t max_size);

// "--udp-payload nmap:PORT" (nmap's payloads for PORT) or "nmap:all" (for every scanned port
// nmap has payloads for), each optionally followed by ":FILE" (default kNmapPayloadsPath).
// Throws UsageError for a malformed spec.
struct NmapSpec {
  uint16_t port = 0;  // 0: all
  std::string path;
};
NmapSpec parse_nmap_spec(std::string_view spec);

// Check's name in config/udp-payloads.conf ("dns", ..., "none").
std::string_view check_name(Check c);

}  // namespace dpscan::udp

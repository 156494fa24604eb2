#include "records.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace dpscan {
namespace {

// {"k":"v","n":12,...}: strings (with \" \\ and \uXXXX below 0x80) and unsigned numbers
// (integers, and decimals like the amplification factor's 12.50).
std::optional<std::map<std::string, std::string, std::less<>>> flat_object(std::string_view s) {
  std::map<std::string, std::string, std::less<>> out;
  size_t i = 0;
  const auto ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  const auto str = [&](std::string& v) {
    if (i >= s.size() || s[i] != '"') return false;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] != '\\') {
        v += s[i];
        continue;
      }
      if (++i >= s.size()) return false;
      switch (s[i]) {
        case '"':
        case '\\':
        case '/':
          v += s[i];
          break;
        case 'n':
          v += '\n';
          break;
        case 't':
          v += '\t';
          break;
        case 'u': {
          unsigned code = 0;
          if (i + 4 >= s.size() ||
              std::from_chars(s.data() + i + 1, s.data() + i + 5, code, 16).ptr != s.data() + i + 5)
            return false;
          v += code < 0x80 ? static_cast<char>(code) : '?';
          i += 4;
          break;
        }
        default:
          return false;
      }
    }
    if (i >= s.size()) return false;
    ++i;
    return true;
  };
  ws();
  if (i >= s.size() || s[i++] != '{') return std::nullopt;
  for (;;) {
    ws();
    std::string k, v;
    if (!str(k)) return std::nullopt;
    ws();
    if (i >= s.size() || s[i++] != ':') return std::nullopt;
    ws();
    if (i < s.size() && s[i] == '"') {
      if (!str(v)) return std::nullopt;
    } else {
      const size_t start = i;
      while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
      if (i == start) return std::nullopt;
      v = std::string(s.substr(start, i - start));
    }
    out[k] = v;
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      ++i;
      ws();
      return i == s.size() ? std::optional(out) : std::nullopt;
    }
    return std::nullopt;
  }
}

template <typename T>
bool number(const std::string& s, T& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

// "0a1b..." -> bytes; false for an odd length or a non-hex digit.
bool hex_bytes(const std::string& s, std::vector<uint8_t>& out) {
  if (s.size() % 2) return false;
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned b = 0;
    if (std::from_chars(s.data() + i, s.data() + i + 2, b, 16).ptr != s.data() + i + 2)
      return false;
    out.push_back(static_cast<uint8_t>(b));
  }
  return true;
}

// Whether a status can have this reason for this protocol (what the modules report).
bool reason_fits(Status st, Reason r, Proto p) {
  switch (st) {
    case Status::kOpen:
      return r == (p == Proto::kTcp ? Reason::kSynAck : Reason::kUdpResponse) && p != Proto::kIcmp;
    case Status::kClosed:
      return p == Proto::kTcp ? r == Reason::kReset : p == Proto::kUdp && r == Reason::kPortUnreach;
    case Status::kUp:
      return p == Proto::kIcmp && r == Reason::kEchoReply;
    case Status::kUnreachable:
      return r >= Reason::kNetUnreach;
  }
  return false;
}

std::optional<Record> parse_record(std::string_view line) {
  const auto o = flat_object(line);
  if (!o) return std::nullopt;
  Record rec;
  const auto get = [&](const char* k) -> const std::string* {
    const auto it = o->find(k);
    return it == o->end() ? nullptr : &it->second;
  };
  const std::string *ip = get("ip"), *port = get("port");
  if (!ip || !port) return std::nullopt;
  const auto addr = IpAddr::parse(*ip);
  if (!addr || !number(*port, rec.result.port)) return std::nullopt;
  rec.result.ip = *addr;
  // A dry run's probe: {"ip","port"}, and "payload" for UDP.
  const std::string* payload = get("payload");
  if (o->size() == 2 || (o->size() == 3 && payload)) {
    rec.probe = true;
    if (payload) rec.payload = *payload;
    return rec.result.port != 0 ? std::optional(rec) : std::nullopt;
  }
  const std::string *status = get("status"), *ttl = get("ttl"), *ts = get("timestamp"),
                    *scan = get("scan"), *reason = get("reason");
  if (!status || !ttl || !ts || !scan || !reason) return std::nullopt;
  const auto st = parse_status(*status);
  if (!st || !number(*ttl, rec.result.ttl) || !number(*ts, rec.result.time_s)) return std::nullopt;
  rec.result.status = *st;
  rec.scan = *scan;
  const auto r = std::find(kReasonNames.begin(), kReasonNames.end(), *reason);
  if (r == kReasonNames.end()) return std::nullopt;
  rec.result.reason = static_cast<Reason>(r - kReasonNames.begin());
  // The module's fields, where it writes them.
  if (const std::string* p = get("proto")) {
    if (*p == "tcp")
      rec.result.proto = Proto::kTcp;
    else if (*p == "udp")
      rec.result.proto = Proto::kUdp;
    else if (*p == "icmp")
      rec.result.proto = Proto::kIcmp;
    else
      return std::nullopt;
  }
  if (rec.result.port == 0 && rec.result.proto != Proto::kIcmp) return std::nullopt;
  if (!reason_fits(rec.result.status, rec.result.reason, rec.result.proto)) return std::nullopt;
  const auto optional_number = [&](const char* k, auto& out) {
    const std::string* v = get(k);
    return !v || number(*v, out);
  };
  if (!optional_number("window", rec.result.window) ||
      !optional_number("validation_bits", rec.result.validation_bits) ||
      !optional_number("resp_len", rec.result.resp_len) ||
      !optional_number("probe_len", rec.result.probe_len))
    return std::nullopt;
  if (payload) rec.payload = *payload;
  if (const std::string* d = get("data"); d && !hex_bytes(*d, rec.data)) return std::nullopt;
  rec.result.data_len = static_cast<uint16_t>(rec.data.size());
  return rec;
}

}  // namespace dpscan

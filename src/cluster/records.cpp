#include "records.hpp"

#include <charconv>
#include <map>

namespace dpscan {
namespace {

// {"k":"v","n":12,...}: strings (with \" \\ and \uXXXX below 0x80) and unsigned integers.
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
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
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

std::optional<Record> parse_record(std::string_view line) {
  const auto o = flat_object(line);
  if (!o) return std::nullopt;
  Record rec;
  const auto ip = o->find("ip");
  const auto port = o->find("port");
  if (ip == o->end() || port == o->end()) return std::nullopt;
  const auto addr = Ipv4Addr::parse(ip->second);
  if (!addr || !number(port->second, rec.result.port) || rec.result.port == 0) return std::nullopt;
  rec.result.ip = *addr;
  if (o->size() == 2) {
    rec.probe = true;
    return rec;
  }
  const auto get = [&](const char* k) -> const std::string* {
    const auto it = o->find(k);
    return it == o->end() ? nullptr : &it->second;
  };
  const std::string *status = get("status"), *ttl = get("ttl"), *window = get("window"),
                    *ts = get("timestamp"), *scan = get("scan"), *reason = get("reason");
  if (!status || !ttl || !window || !ts || !scan || !reason) return std::nullopt;
  const auto st = parse_status(*status);
  if (!st || !number(*ttl, rec.result.ttl) || !number(*window, rec.result.window) ||
      !number(*ts, rec.result.time_s))
    return std::nullopt;
  rec.result.status = *st;
  rec.scan = *scan;
  // The ICMP code back from its reason name (reason_name is the one mapping).
  bool found = false;
  for (unsigned code = 0; code < 256 && !found; ++code) {
    rec.result.icmp_code = static_cast<uint8_t>(code);
    found = reason_name(rec.result) == *reason;
    if (*st != Status::kUnreachable) break;
  }
  if (!found) return std::nullopt;
  return rec;
}

}  // namespace dpscan

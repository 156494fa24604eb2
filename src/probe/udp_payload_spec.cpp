// Users' payloads: "PORT:FILE", "PORT:hex:HEX", "PORT:text:TEXT" (docs/udp-payloads.md).
#include <sys/stat.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "dpscan/udp_payload.hpp"
#include "probe/udp_payload_template.hpp"

namespace dpscan::udp {

namespace {

constexpr size_t kMaxFile = 65536;

// The file's bytes; UsageError when it cannot be read or is larger than kMaxFile.
std::string read_file(const std::string& path, const std::string& spec_text) {
  auto fail = [&](const std::string& why) {
    return UsageError(
        fmt::format("udp payload '{}': cannot read '{}': {}", spec_text, printable(path), why));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw fail(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw fail("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::strerror(errno));
  std::string data;
  data.resize(kMaxFile + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  if (in.bad()) throw fail(std::strerror(errno));
  data.resize(static_cast<size_t>(in.gcount()));
  if (data.size() > kMaxFile) throw fail(fmt::format("larger than {} bytes", kMaxFile));
  return data;
}

size_t line_of(std::string_view text, size_t pos) {
  size_t line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

// addr_len 0: {dst} is an error.
Payload parse_spec(std::string_view spec, size_t max_size, size_t addr_len) {
  const std::string shown = printable(spec, 80);
  auto fail = [&](const std::string& msg) {
    return UsageError(fmt::format("udp payload '{}': {}", shown, msg));
  };
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos || colon + 1 == spec.size())
    throw fail("expected PORT:FILE, PORT:hex:HEX or PORT:text:TEXT");
  const auto port_text = spec.substr(0, colon);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    throw fail("bad port '" + printable(port_text) + "' (1-65535)");

  auto rest = spec.substr(colon + 1);
  TemplateBuilder tmpl(addr_len);
  std::string name;
  if (rest.starts_with("hex:") || rest.starts_with("text:")) {
    const bool hex = rest.starts_with("hex:");
    name = hex ? "hex" : "text";
    const size_t body_at = colon + 1 + name.size() + 1;
    try {
      tmpl.append(spec.substr(body_at), hex ? Literal::kHex : Literal::kText);
    } catch (const TemplateError& e) {
      throw fail(fmt::format("{} (at character {})", e.what(), body_at + e.pos + 1));
    }
  } else {
    if (rest.starts_with("file:")) rest.remove_prefix(5);
    if (rest.empty()) throw fail("expected a file name after the port");
    const std::string path(rest);
    name = "file:" + path;
    const std::string data = read_file(path, shown);
    try {
      tmpl.append(data, Literal::kRaw);
    } catch (const TemplateError& e) {
      throw UsageError(fmt::format("{}:{}: {} (in udp payload '{}')", printable(path),
                                   line_of(data, e.pos), e.what(), shown));
    }
  }
  if (tmpl.bytes().size() > max_size)
    throw fail(fmt::format("{} bytes, more than the {} a UDP probe carries unfragmented here",
                           tmpl.bytes().size(), max_size));
  return Payload(std::move(name), static_cast<uint16_t>(port), std::move(tmpl.bytes()),
                 std::move(tmpl.fields()), Check::kNone);
}

}  // namespace

Payload parse_payload_spec(std::string_view spec, size_t max_size, size_t addr_len) {
  if (addr_len != 4 && addr_len != 16)
    throw std::invalid_argument("parse_payload_spec: addr_len must be 4 or 16");
  return parse_spec(spec, max_size, addr_len);
}

Payload parse_payload_spec(std::string_view spec, size_t max_size) {
  // IPv4's and IPv6's largest unfragmented UDP payloads (Ipv4/Ipv6::kMaxUdpPayload).
  return parse_spec(spec, max_size, max_size == 1472 ? 4 : max_size == 1232 ? 16 : 0);
}

}  // namespace dpscan::udp

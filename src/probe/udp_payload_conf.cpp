// The payload library's file format and the built-in library: see udp_payload_conf.hpp.
#include "probe/udp_payload_conf.hpp"

#include <charconv>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "probe/udp_payload_template.hpp"

namespace dpscan::udp {

namespace {

constexpr Check kChecks[] = {Check::kNone, Check::kDns,       Check::kNtp,  Check::kSnmp,
                             Check::kSsdp, Check::kMemcached, Check::kNbns, Check::kStun,
                             Check::kCoap, Check::kIke};

std::optional<Check> check_from_name(std::string_view name) {
  for (const Check c : kChecks)
    if (check_name(c) == name) return c;
  return std::nullopt;
}

std::string_view next_word(std::string_view& s) {
  s = trim_space(s);
  const size_t end = std::min(s.find_first_of(" \t"), s.size());
  const auto word = s.substr(0, end);
  s = s.substr(end);
  return word;
}

struct Pending {
  std::string name;
  uint16_t port;
  Check check;
  TemplateBuilder tmpl{0};  // no {dst}: the library is for both families
  size_t line;
};

}  // namespace

std::vector<Payload> parse_payload_conf(std::string_view text, std::string_view origin) {
  std::vector<Payload> out;
  std::optional<Pending> cur;
  auto fail = [&](size_t line, const std::string& msg) {
    return UsageError(fmt::format("{}:{}: {}", origin, line, msg));
  };
  auto finish = [&] {
    if (!cur) return;
    if (cur->tmpl.bytes().empty())
      throw fail(cur->line, "payload " + cur->name + " has no hex or text lines");
    // check() regenerates the probe in a buffer of kMaxChecked bytes.
    if (cur->check != Check::kNone && cur->tmpl.bytes().size() > Payload::kMaxChecked)
      throw fail(cur->line, fmt::format("payload {} is {} bytes: a payload with a check ({}) "
                                        "is at most {}",
                                        cur->name, cur->tmpl.bytes().size(), check_name(cur->check),
                                        Payload::kMaxChecked));
    out.emplace_back(cur->name, cur->port, std::move(cur->tmpl.bytes()),
                     std::move(cur->tmpl.fields()), cur->check);
    cur.reset();
  };
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t eol = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, eol - at);
    at = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto trimmed = trim_space(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::string_view rest = line;
    const auto keyword = next_word(rest);
    if (keyword == "payload") {
      finish();
      const auto name = next_word(rest), port_text = next_word(rest), check = next_word(rest);
      if (check.empty() || !trim_space(rest).empty())
        throw fail(line_no, "expected: payload NAME PORT CHECK");
      unsigned port = 0;
      const auto [end, ec] =
          std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
          port > 65535)
        throw fail(line_no, "bad port '" + printable(port_text) + "' (1-65535)");
      const auto c = check_from_name(check);
      if (!c) throw fail(line_no, "unknown check '" + printable(check) + "'");
      cur.emplace(
          Pending{std::string(name), static_cast<uint16_t>(port), *c, TemplateBuilder(0), line_no});
    } else if (keyword == "hex" || keyword == "text") {
      if (!cur) throw fail(line_no, "a template line before the first payload line");
      // The template: after the keyword and one space, to the end of the line.
      const size_t skip = static_cast<size_t>(rest.data() - line.data()) + 1;
      const auto body = skip <= line.size() ? line.substr(skip) : std::string_view{};
      try {
        cur->tmpl.append(body, keyword == "hex" ? Literal::kHex : Literal::kText);
      } catch (const TemplateError& e) {
        throw fail(line_no, fmt::format("{} (column {})", e.what(), skip + e.pos + 1));
      }
    } else {
      throw fail(line_no,
                 "unknown keyword '" + printable(keyword) + "' (expected payload, hex or text)");
    }
  }
  finish();
  return out;
}

const std::vector<Payload>& builtin_payloads() {
  static const std::vector<Payload> all =
      parse_payload_conf(builtin_payload_conf(), "config/udp-payloads.conf");
  return all;
}

std::vector<Payload> builtin_for_port(uint16_t port) {
  std::vector<Payload> out;
  for (const Payload& p : builtin_payloads())
    if (p.port() == port) out.push_back(p);
  return out;
}

}  // namespace dpscan::udp

// nmap's UDP payload file (nmap-payloads): entries "udp PORTS "STRING" ["STRING"...]", then
// optional keywords whose arguments run to the end of their line ("source PORT", ignored as
// nmap ignores it); # starts a comment outside strings; strings take C escapes.
#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "dpscan/udp_payload.hpp"

namespace dpscan::udp {

namespace {

constexpr long kMaxNmapFile = 16 << 20;  // nmap 7.93's is 21 KB

class Reader {
 public:
  Reader(std::string_view text, std::string_view path) : text_(text), path_(path) {}

  UsageError error(const std::string& msg) const {
    return UsageError(fmt::format("{}:{}: {}", path_, line_, msg));
  }
  size_t line() const { return line_; }

  // Skips spaces, line ends and comments; false at the end.
  bool skip_space() {
    while (at_ < text_.size()) {
      const char ch = text_[at_];
      if (ch == '#') {
        while (at_ < text_.size() && text_[at_] != '\n') ++at_;
      } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
        line_ += ch == '\n';
        ++at_;
      } else {
        return true;
      }
    }
    return false;
  }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }

  // A word: up to the next space, line end, comment or quote.
  std::string_view word() {
    const size_t start = at_;
    while (at_ < text_.size() && !std::strchr(" \t\r\n#\"", text_[at_])) ++at_;
    return text_.substr(start, at_ - start);
  }
  void skip_line() {
    while (at_ < text_.size() && text_[at_] != '\n') ++at_;
  }

  // A quoted string at the current position, unescaped, appended to out.
  void string(std::vector<uint8_t>& out) {
    ++at_;  // the opening quote
    while (true) {
      if (at_ >= text_.size() || text_[at_] == '\n') throw error("a string is not closed");
      const char ch = text_[at_++];
      if (ch == '"') return;
      if (ch != '\\') {
        out.push_back(static_cast<uint8_t>(ch));
        continue;
      }
      if (at_ >= text_.size()) throw error("a string is not closed");
      const char e = text_[at_++];
      static constexpr std::string_view kFrom = "0abfnrtv\\\"'", kTo("\0\a\b\f\n\r\t\v\\\"'", 11);
      if (const size_t k = kFrom.find(e); k != std::string_view::npos) {
        out.push_back(static_cast<uint8_t>(kTo[k]));
      } else if (e == 'x') {
        unsigned v = 0;
        const auto [end, ec] =
            at_ + 2 <= text_.size()
                ? std::from_chars(text_.data() + at_, text_.data() + at_ + 2, v, 16)
                : std::from_chars_result{nullptr, std::errc::invalid_argument};
        if (ec != std::errc{} || end != text_.data() + at_ + 2)
          throw error("\\x needs two hex digits");
        out.push_back(static_cast<uint8_t>(v));
        at_ += 2;
      } else {
        throw error("unknown escape \\" + printable(std::string_view(&e, 1)));
      }
    }
  }

 private:
  std::string_view text_, path_;
  size_t at_ = 0;
  size_t line_ = 1;
};

// A port list ("53,69,32768-65535") as ranges; UsageError when malformed.
std::vector<std::pair<uint16_t, uint16_t>> port_ranges(std::string_view list, const Reader& r) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  while (!list.empty()) {
    const size_t comma = std::min(list.find(','), list.size());
    const auto item = list.substr(0, comma);
    list = list.substr(comma == list.size() ? comma : comma + 1);
    const size_t dash = item.find('-');
    unsigned lo = 0, hi = 0;
    auto number = [&](std::string_view s, unsigned& v) {
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && v <= 65535;
    };
    const bool ok = dash == std::string_view::npos
                        ? number(item, lo) && (hi = lo, true)
                        : number(item.substr(0, dash), lo) && number(item.substr(dash + 1), hi);
    if (!ok || lo > hi) throw r.error("bad port list item '" + printable(item) + "'");
    out.emplace_back(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
  }
  return out;
}

}  // namespace

std::vector<NmapEntry> parse_nmap_payloads(std::string_view text, std::string_view origin) {
  Reader r(text, origin);
  std::vector<NmapEntry> out;
  bool after_entry = false;
  while (r.skip_space()) {
    if (r.peek() == '"') throw r.error("a string outside an entry");
    const auto keyword = r.word();
    if (keyword != "udp") {
      // A keyword after an entry's strings ("source 500"): ignored, as nmap does.
      if (!after_entry || keyword.empty() ||
          keyword.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string_view::npos)
        throw r.error("expected udp, found '" + printable(keyword.empty() ? "#" : keyword, 40) +
                      "'");
      r.skip_line();
      continue;
    }
    after_entry = true;
    NmapEntry e;
    e.line = r.line();
    if (!r.skip_space() || r.peek() == '"') throw r.error("expected a port list after udp");
    e.ports = port_ranges(r.word(), r);
    bool any = false;
    while (r.skip_space() && r.peek() == '"') {
      r.string(e.bytes);
      any = true;
    }
    if (!any) throw r.error("expected a quoted payload after the ports");
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Payload> nmap_payloads_for(const std::vector<NmapEntry>& entries,
                                       std::string_view origin, uint16_t port, size_t max_size) {
  std::vector<Payload> out;
  for (const NmapEntry& e : entries) {
    const bool ours = std::any_of(e.ports.begin(), e.ports.end(), [&](const auto& r) {
      return port >= r.first && port <= r.second;
    });
    if (!ours) continue;
    if (e.bytes.size() > max_size)
      throw UsageError(
          fmt::format("{}:{}: the payload is {} bytes, more than the {} a UDP probe "
                      "carries unfragmented here",
                      origin, e.line, e.bytes.size(), max_size));
    out.emplace_back(fmt::format("nmap:{}:{}", origin, e.line), port, e.bytes, std::vector<Field>{},
                     Check::kNone);
  }
  return out;
}

std::string read_nmap_payloads(const std::string& path) {
  auto unreadable = [&](const char* why) {
    return UsageError(fmt::format(
        "cannot read nmap payloads '{}': {} (nmap's payload file: Debian's package nmap-common "
        "installs it as {})",
        printable(path), why, kNmapPayloadsPath));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw unreadable(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw unreadable("it is a directory");
  if (!S_ISREG(st.st_mode)) throw unreadable("not a regular file");
  if (st.st_size > kMaxNmapFile)
    throw unreadable(fmt::format("larger than {} bytes", kMaxNmapFile).c_str());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw unreadable(std::strerror(errno));
  return text;
}

std::vector<Payload> load_nmap_payloads(const std::string& path, uint16_t port, size_t max_size) {
  return nmap_payloads_for(parse_nmap_payloads(read_nmap_payloads(path), path), path, port,
                           max_size);
}

NmapSpec parse_nmap_spec(std::string_view spec) {
  auto fail = [&](const std::string& msg) {
    return UsageError(fmt::format("udp payload '{}': {}", printable(spec, 80), msg));
  };
  if (!spec.starts_with("nmap:")) throw fail("expected nmap:PORT or nmap:all");
  auto rest = spec.substr(5);
  const size_t colon = rest.find(':');
  const auto what = rest.substr(0, colon);
  NmapSpec out;
  out.path = kNmapPayloadsPath;
  if (colon != std::string_view::npos) {
    if (colon + 1 == rest.size())
      throw fail("expected a file name after nmap:" + printable(what) + ":");
    out.path = std::string(rest.substr(colon + 1));
  }
  if (what == "all") return out;
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(what.data(), what.data() + what.size(), port);
  if (what.empty() || ec != std::errc{} || end != what.data() + what.size() || port == 0 ||
      port > 65535)
    throw fail("bad port '" + printable(what) + "' (nmap:PORT with PORT 1-65535, or nmap:all)");
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace dpscan::udp

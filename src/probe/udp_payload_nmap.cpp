// nmap's UDP payload file (nmap-payloads): entries "udp PORTS "STRING" ["STRING"...]", then
// optional keywords whose arguments run to the end of their line ("source PORT", ignored as
// nmap ignores it); # starts a comment outside strings; strings take C escapes.
#include <sys/stat.h>
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

// Whether the port list ("53,69,32768-65535") holds `port`; UsageError when malformed.
bool ports_hold(std::string_view list, uint16_t port, const Reader& r) {
  bool hit = false;
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
    hit = hit || (port >= lo && port <= hi);
  }
  return hit;
}

}  // namespace

std::vector<Payload> load_nmap_payloads(const std::string& path, uint16_t port, size_t max_size) {
  auto unreadable = [&](const char* why) {
    return UsageError(fmt::format("cannot read nmap payloads '{}': {}", printable(path), why));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw unreadable(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(std::strerror(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw unreadable(std::strerror(errno));
  Reader r(text, path);
  std::vector<Payload> out;
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
    const size_t line = r.line();
    if (!r.skip_space() || r.peek() == '"') throw r.error("expected a port list after udp");
    const bool ours = ports_hold(r.word(), port, r);
    std::vector<uint8_t> bytes;
    bool any = false;
    while (r.skip_space() && r.peek() == '"') {
      r.string(bytes);
      any = true;
    }
    if (!any) throw r.error("expected a quoted payload after the ports");
    if (!ours) continue;
    if (bytes.size() > max_size)
      throw UsageError(
          fmt::format("{}:{}: the payload is {} bytes, more than the {} a UDP probe "
                      "carries unfragmented here",
                      path, line, bytes.size(), max_size));
    out.emplace_back(fmt::format("nmap:{}:{}", path, line), port, std::move(bytes),
                     std::vector<Field>{}, Check::kNone);
  }
  return out;
}

}  // namespace dpscan::udp

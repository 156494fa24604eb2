#include "dpscan/hitlist.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "target/byte_source.hpp"
#include "target/distinct_sort.hpp"
#include "target/ipv6_text.hpp"

namespace dpscan {
namespace {

// Lines of a byte stream, read in blocks of 1 MiB. A line is handed out where it lies in the
// block when it can be; one that spans two blocks is copied. Only the first kMaxLine bytes of
// a line are kept (no address with its comment needs more), so that a file without line ends
// cannot make the reader hold all of it.
class LineReader {
 public:
  static constexpr size_t kBlock = size_t{1} << 20;
  static constexpr size_t kMaxLine = 4096;

  explicit LineReader(ByteSource& src) : src_(src), buf_(new char[kBlock]) {}

  // The next line without its '\n'; `cut` says that it was longer than kMaxLine and only its
  // first kMaxLine bytes are in `line`. False at the end of the stream.
  bool next(std::string_view& line, bool& cut) {
    carry_.clear();
    bool carrying = false;
    for (;;) {
      if (pos_ == len_) {
        if (eof_) break;
        len_ = src_.read(buf_.get(), kBlock);
        pos_ = 0;
        if (len_ == 0) {
          eof_ = true;
          break;
        }
      }
      const char* start = buf_.get() + pos_;
      const size_t avail = len_ - pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
      const size_t n = nl ? static_cast<size_t>(nl - start) : avail;
      pos_ += nl ? n + 1 : n;
      if (!carrying && nl) return finish({start, n}, line, cut);
      carrying = true;
      carry_.append(start, std::min(n, kMaxLine + 1 - std::min(carry_.size(), kMaxLine + 1)));
      if (nl) return finish(carry_, line, cut);
    }
    // The end of the stream: the last line may lack its '\n'.
    if (!carrying) return false;
    return finish(carry_, line, cut);
  }

 private:
  static bool finish(std::string_view text, std::string_view& line, bool& cut) {
    cut = text.size() > kMaxLine;
    line = cut ? text.substr(0, kMaxLine) : text;
    return true;
  }

  ByteSource& src_;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  std::string carry_;
};

// The offending text of a line for an error message: escaped, and cut with "..." when long.
std::string excerpt(std::string_view text, bool cut) {
  constexpr size_t kShown = 100;
  std::string e = printable(text, kShown);
  if (cut && text.size() <= kShown) e += "...";
  return e;
}

}  // namespace

HitlistLine parse_hitlist_line(std::string_view line) {
  HitlistLine h;
  if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
    line = line.substr(0, hash);
  }
  line = trim_space(line);
  if (line.empty()) return h;
  h.text = line;
  const size_t slash = line.find('/');
  const auto addr = Ipv6Addr::parse(line.substr(0, slash));
  std::optional<unsigned> len = 128;
  if (slash != std::string_view::npos) len = parse_prefix_length(line.substr(slash + 1));
  if (!addr || !len) {
    h.kind = HitlistLine::kInvalid;
    return h;
  }
  if (*len < kHitlistMinPrefix) {
    h.kind = HitlistLine::kPrefixTooBig;
    h.prefix = *len;
    return h;
  }
  const Ipv6Addr mask = Ipv6Addr::prefix_mask(*len);
  h.kind = HitlistLine::kEntry;
  h.range = {*addr & mask, *addr | ~mask};
  return h;
}

namespace {

Hitlist read_hitlist(std::unique_ptr<ByteSource> raw, const std::string& source) {
  Compression compression = Compression::kNone;
  const std::unique_ptr<ByteSource> src = decoded_source(std::move(raw), source, &compression);
  LineReader reader(*src);
  DistinctCollector collector;
  Hitlist out;
  HitlistCounts& c = out.counts;
  std::string_view line;
  bool cut = false;
  while (reader.next(line, cut)) {
    ++c.lines;
    HitlistLine h = parse_hitlist_line(line);
    // A cut line is whole only when its comment starts within what was kept.
    if (cut && line.find('#') == std::string_view::npos) {
      h.kind = HitlistLine::kInvalid;
      h.text = trim_space(line);
    }
    switch (h.kind) {
      case HitlistLine::kBlank:
        ++c.comment_lines;
        break;
      case HitlistLine::kEntry: {
        ++c.entries;
        const u128 n = h.range.size();
        for (u128 i = 0; i < n; ++i) collector.add(h.range.first.plus(static_cast<uint64_t>(i)));
        break;
      }
      case HitlistLine::kInvalid:
        throw UsageError(fmt::format("{}:{}: not an IPv6 address or prefix: '{}'", source, c.lines,
                                     excerpt(h.text, cut)));
      case HitlistLine::kPrefixTooBig:
        throw UsageError(fmt::format(
            "{}:{}: the prefix '{}' holds 2^{} addresses; a hitlist line lists at most 65,536 "
            "(a /{} or longer): give it as a target{}",
            source, c.lines, excerpt(h.text, cut), 128 - h.prefix, kHitlistMinPrefix,
            h.prefix < 64 ? fmt::format(", or as a generator such as {}-64 (one address in "
                                        "each /64)",
                                        excerpt(h.text, cut))
                          : std::string()));
    }
  }
  c.listed = collector.added();
  out.addresses = collector.finish();
  c.addresses = out.addresses.size();
  c.duplicates = c.listed - c.addresses;
  out.compression = compression_name(compression);
  if (out.addresses.empty()) {
    throw UsageError(
        fmt::format("{}: the hitlist holds no IPv6 address ({} lines, all blank or "
                    "comments)",
                    source, c.lines));
  }
  return out;
}

}  // namespace

Hitlist load_hitlist(const std::string& path) {
  return read_hitlist(file_source(path), path);
}

Hitlist load_hitlist(std::istream& in, const std::string& source) {
  return read_hitlist(istream_source(in), source);
}

uint64_t remove_in(std::vector<Ipv6Addr>& sorted, const Ip6Set& set) {
  auto out = sorted.begin();  // where the next address kept goes
  auto read = sorted.begin();
  for (const auto& iv : set.intervals()) {
    const auto lo = std::lower_bound(read, sorted.end(), iv.first);
    const auto hi = std::upper_bound(lo, sorted.end(), iv.last);
    if (lo == hi) continue;
    out = out == read ? lo : std::move(read, lo, out);
    read = hi;
  }
  out = out == read ? sorted.end() : std::move(read, sorted.end(), out);
  const auto removed = static_cast<uint64_t>(sorted.end() - out);
  sorted.erase(out, sorted.end());
  return removed;
}

}  // namespace dpscan

// The result formats. Each builds its line in a small buffer and hands it to OutputFile.
//   csv     header line, then rows; columns chosen with --output-fields
//           (dry run: "ip,port")
//   ndjson  one JSON object per result: ip, port, status, ttl, window, timestamp, scan, reason
//   list    masscan's -oL byte for byte: "#masscan", "open tcp 80 1.2.3.4 1700000000", "# end"
//   xml     nmap's XML (what nmap's own tools, ndiff among them, read); see xml_writer.cpp
#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/output.hpp"
#include "writer_base.hpp"

namespace dpscan {
namespace {

const std::vector<std::string> kCsvFields{"ip",     "port",      "status", "ttl",
                                          "window", "timestamp", "scan",   "reason"};
const std::vector<std::string> kDefaultCsvFields{"ip",  "port",   "status",
                                                 "ttl", "window", "timestamp"};

class CsvWriter final : public LineWriter {
 public:
  CsvWriter(OutputFile& out, const WriterContext& ctx, bool dry_run)
      : LineWriter(out),
        dry_run_(dry_run),
        fields_(ctx.csv_fields.empty() ? kDefaultCsvFields : ctx.csv_fields),
        scan_quoted_(csv_quote(ctx.scan_name)) {
    // Field names resolved once, not compared per result.
    for (const std::string& f : fields_) {
      columns_.push_back(f == "ip"          ? Column::kIp
                         : f == "port"      ? Column::kPort
                         : f == "status"    ? Column::kStatus
                         : f == "ttl"       ? Column::kTtl
                         : f == "window"    ? Column::kWindow
                         : f == "timestamp" ? Column::kTimestamp
                         : f == "scan"      ? Column::kScan
                         : f == "reason"    ? Column::kReason
                                            : Column::kUnknown);
    }
  }
  void begin() override {
    if (dry_run_) {
      line("ip,port");
      return;
    }
    buf_.clear();
    for (size_t i = 0; i < fields_.size(); ++i)
      fmt::format_to(std::back_inserter(buf_), "{}{}", i ? "," : "", fields_[i]);
    buf_.push_back('\n');
    out_.write(buf_.data(), buf_.size());
  }
  void result(const Result& r) override {
    buf_.clear();
    char t[16];
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) buf_.push_back(',');
      switch (columns_[i]) {
        case Column::kIp:
          put(ip(r.ip, t));
          break;
        case Column::kPort:
          put_uint(r.port);
          break;
        case Column::kStatus:
          put(status_name(r.status));
          break;
        case Column::kTtl:
          put_uint(r.ttl);
          break;
        case Column::kWindow:
          put_uint(r.window);
          break;
        case Column::kTimestamp:
          put_uint(r.time_s);
          break;
        case Column::kScan:
          put(scan_quoted_);
          break;
        case Column::kReason:
          put(reason_name(r));
          break;
        case Column::kUnknown:
          break;
      }
    }
    buf_.push_back('\n');
    out_.write(buf_.data(), buf_.size());
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line("{},{}", ip(a, t), port);
  }
  void end() override {}

 private:
  static std::string csv_quote(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  // Appends without fmt's format-string machinery: the main lcore writes a line per result.
  void put(std::string_view v) { buf_.append(v.data(), v.data() + v.size()); }
  void put_uint(uint64_t v) {
    const fmt::format_int digits(v);
    buf_.append(digits.data(), digits.data() + digits.size());
  }
  enum class Column : uint8_t {
    kIp,
    kPort,
    kStatus,
    kTtl,
    kWindow,
    kTimestamp,
    kScan,
    kReason,
    kUnknown
  };
  bool dry_run_;
  std::vector<std::string> fields_;
  std::string scan_quoted_;
  std::vector<Column> columns_;
};

class NdjsonWriter final : public LineWriter {
 public:
  NdjsonWriter(OutputFile& out, const WriterContext& ctx)
      : LineWriter(out), scan_(json_escape(ctx.scan_name)) {}
  void begin() override {}
  void result(const Result& r) override {
    char t[16];
    line(
        R"({{"ip":"{}","port":{},"status":"{}","ttl":{},"window":{},"timestamp":{},"scan":"{}","reason":"{}"}})",
        ip(r.ip, t), r.port, status_name(r.status), r.ttl, r.window, r.time_s, scan_,
        reason_name(r));
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line(R"({{"ip":"{}","port":{}}})", ip(a, t), port);
  }
  void end() override {}

 private:
  std::string scan_;
};

// masscan's -oL (output-list.c): "#masscan" first, then "<status> tcp <port> <ip> <unix time>",
// then "# end". masscan reports only open and closed; dpscan writes unreachable the same way.
class ListWriter final : public LineWriter {
 public:
  using LineWriter::LineWriter;
  void begin() override { line("#masscan"); }
  void result(const Result& r) override {
    char t[16];
    line("{} tcp {} {} {}", status_name(r.status), r.port, ip(r.ip, t), r.time_s);
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line("probe tcp {} {} 0", port, ip(a, t));
  }
  void end() override { line("# end"); }
};

}  // namespace

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    else
      out += c;
  }
  return out;
}

std::vector<std::string> parse_output_fields(const std::string& list) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string f =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (std::find(kCsvFields.begin(), kCsvFields.end(), f) == kCsvFields.end()) {
      throw UsageError(
          fmt::format("--output-fields: '{}' is not one of {}", f, fmt::join(kCsvFields, ", ")));
    }
    fields.push_back(f);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return fields;
}

std::unique_ptr<ResultWriter> make_writer(OutputFormat format, OutputFile& out,
                                          const WriterContext& ctx, bool dry_run) {
  switch (format) {
    case OutputFormat::kCsv:
      return std::make_unique<CsvWriter>(out, ctx, dry_run);
    case OutputFormat::kNdjson:
      return std::make_unique<NdjsonWriter>(out, ctx);
    case OutputFormat::kList:
      return std::make_unique<ListWriter>(out);
    case OutputFormat::kXml:
      return make_xml_writer(out, ctx, dry_run);
  }
  return nullptr;
}

Outputs::Outputs(const std::vector<OutputSpec>& specs, const WriterContext& ctx, bool dry_run) {
  for (const auto& spec : specs) {
    files_.push_back(std::make_unique<OutputFile>(spec.path));
    writers_.push_back(make_writer(spec.format, *files_.back(), ctx, dry_run));
  }
}

void Outputs::begin() {
  for (auto& w : writers_) w->begin();
}
void Outputs::result(const Result& r) {
  for (auto& w : writers_) w->result(r);
}
void Outputs::probe(uint32_t ip, uint16_t port) {
  for (auto& w : writers_) w->probe(ip, port);
}
void Outputs::flush() {
  for (auto& f : files_) f->flush();
}
void Outputs::end() {
  for (auto& w : writers_) w->end();
  for (auto& f : files_) f->close();
}

}  // namespace dpscan

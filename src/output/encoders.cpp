// The result formats, as encoders (output.hpp): each appends the bytes of a result to a
// buffer that Outputs hands to a sink.
//   csv     header line, then rows; columns chosen with --output-fields
//           (dry run: "ip,port")
//   ndjson  one JSON object per result: ip, port, status, ttl, window, timestamp, scan, reason
//   list    masscan's -oL byte for byte: "#masscan", "open tcp 80 1.2.3.4 1700000000", "# end"
//   xml     nmap's XML (what nmap's own tools, ndiff among them, read); see xml_encoder.cpp
#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "encoder_base.hpp"

namespace dpscan {
namespace {

const std::vector<std::string> kCsvFields{"ip",     "port",      "status", "ttl",
                                          "window", "timestamp", "scan",   "reason"};
const std::vector<std::string> kDefaultCsvFields{"ip",  "port",   "status",
                                                 "ttl", "window", "timestamp"};

class CsvEncoder final : public Encoder {
 public:
  CsvEncoder(const OutputContext& ctx, bool dry_run)
      : dry_run_(dry_run),
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
  void begin(std::string& out) override {
    if (dry_run_) {
      out += "ip,port\n";
      return;
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i) out += ',';
      out += fields_[i];
    }
    out += '\n';
  }
  void result(const Result& r, std::string& out) override {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) out += ',';
      switch (columns_[i]) {
        case Column::kIp:
          put_ip(out, r.ip);
          break;
        case Column::kPort:
          put_uint(out, r.port);
          break;
        case Column::kStatus:
          put(out, status_name(r.status));
          break;
        case Column::kTtl:
          put_uint(out, r.ttl);
          break;
        case Column::kWindow:
          put_uint(out, r.window);
          break;
        case Column::kTimestamp:
          put_uint(out, r.time_s);
          break;
        case Column::kScan:
          put(out, scan_quoted_);
          break;
        case Column::kReason:
          put(out, reason_name(r));
          break;
        case Column::kUnknown:
          break;
      }
    }
    out += '\n';
  }
  void probe(const Target& t, std::string& out) override {
    put_ip(out, t.ip);
    out += ',';
    put_uint(out, t.port);
    out += '\n';
  }
  void end(std::string&) override {}

 private:
  static std::string csv_quote(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
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

class NdjsonEncoder final : public Encoder {
 public:
  explicit NdjsonEncoder(const OutputContext& ctx) : scan_(json_escape(ctx.scan_name)) {}
  void begin(std::string&) override {}
  void result(const Result& r, std::string& out) override {
    out += R"({"ip":")";
    put_ip(out, r.ip);
    out += R"(","port":)";
    put_uint(out, r.port);
    out += R"(,"status":")";
    put(out, status_name(r.status));
    out += R"(","ttl":)";
    put_uint(out, r.ttl);
    out += R"(,"window":)";
    put_uint(out, r.window);
    out += R"(,"timestamp":)";
    put_uint(out, r.time_s);
    out += R"(,"scan":")";
    put(out, scan_);
    out += R"(","reason":")";
    put(out, reason_name(r));
    out += "\"}\n";
  }
  void probe(const Target& t, std::string& out) override {
    out += R"({"ip":")";
    put_ip(out, t.ip);
    out += R"(","port":)";
    put_uint(out, t.port);
    out += "}\n";
  }
  void end(std::string&) override {}

 private:
  std::string scan_;
};

// masscan's -oL (output-list.c): "#masscan" first, then "<status> tcp <port> <ip> <unix time>",
// then "# end". masscan reports only open and closed; dpscan writes unreachable the same way.
class ListEncoder final : public Encoder {
 public:
  explicit ListEncoder(const OutputContext& ctx) : protocol_(ctx.protocol) {}
  void begin(std::string& out) override { out += "#masscan\n"; }
  void result(const Result& r, std::string& out) override {
    put(out, status_name(r.status));
    out += ' ';
    put(out, protocol_);
    out += ' ';
    put_uint(out, r.port);
    out += ' ';
    put_ip(out, r.ip);
    out += ' ';
    put_uint(out, r.time_s);
    out += '\n';
  }
  void probe(const Target& t, std::string& out) override {
    out += "probe ";
    put(out, protocol_);
    out += ' ';
    put_uint(out, t.port);
    out += ' ';
    put_ip(out, t.ip);
    out += " 0\n";
  }
  void end(std::string& out) override { out += "# end\n"; }

 private:
  std::string protocol_;
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

std::unique_ptr<Encoder> make_encoder(OutputFormat format, const OutputContext& ctx, bool dry_run) {
  switch (format) {
    case OutputFormat::kCsv:
      return std::make_unique<CsvEncoder>(ctx, dry_run);
    case OutputFormat::kNdjson:
      return std::make_unique<NdjsonEncoder>(ctx);
    case OutputFormat::kList:
      return std::make_unique<ListEncoder>(ctx);
    case OutputFormat::kXml:
      return make_xml_encoder(ctx, dry_run);
  }
  return nullptr;
}

}  // namespace dpscan

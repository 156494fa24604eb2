// The result formats, as encoders (output.hpp): each appends the bytes of a result to a
// buffer that Outputs hands to a sink.
//   csv     header line, then rows; columns chosen with --output-fields, by default the
//           module's (dry run: "ip,port", and for UDP "ip,port,payload")
//   ndjson  one JSON object per result: ip, port, status, ttl, timestamp, scan, reason, proto,
//           validation_bits, and the module's fields (TCP: window; UDP: payload, resp_len,
//           probe_len, amplification, data); a dry run's: ip, port (UDP: and payload)
//   list    masscan's -oL byte for byte: "#masscan", "open tcp 80 1.2.3.4 1700000000", "# end"
//   xml     nmap's XML (what nmap's own tools, ndiff among them, read); see xml_encoder.cpp
#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "encoder_base.hpp"

namespace dpscan {
namespace {

// Every field a result has, by name: the csv columns (--output-fields) and the ndjson keys.
enum class Field : uint8_t {
  kIp,
  kPort,
  kStatus,
  kTtl,
  kWindow,
  kTimestamp,
  kScan,
  kReason,
  kProto,
  kValidationBits,
  kPayload,
  kRespLen,
  kProbeLen,
  kAmplification,
  kData,
};
const std::vector<std::string> kFieldNames{
    "ip",        "port",     "status",    "ttl",           "window",
    "timestamp", "scan",     "reason",    "proto",         "validation_bits",
    "payload",   "resp_len", "probe_len", "amplification", "data"};

Field field_of(const std::string& name) {
  const auto it = std::find(kFieldNames.begin(), kFieldNames.end(), name);
  return static_cast<Field>(it - kFieldNames.begin());
}

// Answer bytes per probe byte, the figure of an amplification survey (UDP payloads: the
// answer's over the probe's). Two decimals; 0 where the probe had no payload.
void put_amplification(std::string& out, const Result& r) {
  if (r.probe_len == 0) {
    out += '0';
    return;
  }
  out += fmt::format("{:.2f}", static_cast<double>(r.resp_len) / r.probe_len);
}

// The value of one field; strings quoted for JSON when `json`.
class FieldWriter {
 public:
  FieldWriter(const OutputContext& ctx, std::string scan_text)
      : slot_names_(ctx.slot_names), scan_(std::move(scan_text)) {}

  void put_field(Field f, const ResultView& v, std::string& out, bool json) const {
    const Result& r = v.r;
    const auto text = [&](std::string_view s) {
      if (json) out += '"';
      put(out, s);
      if (json) out += '"';
    };
    switch (f) {
      case Field::kIp:
        if (json) out += '"';
        put_ip(out, r.ip);
        if (json) out += '"';
        break;
      case Field::kPort:
        put_uint(out, r.port);
        break;
      case Field::kStatus:
        text(status_name(r.status));
        break;
      case Field::kTtl:
        put_uint(out, r.ttl);
        break;
      case Field::kWindow:
        put_uint(out, r.window);
        break;
      case Field::kTimestamp:
        put_uint(out, r.time_s);
        break;
      case Field::kScan:
        text(scan_);
        break;
      case Field::kReason:
        text(reason_name(r));
        break;
      case Field::kProto:
        text(proto_name(r.proto));
        break;
      case Field::kValidationBits:
        put_uint(out, r.validation_bits);
        break;
      case Field::kPayload:
        text(slot_name(r.slot));
        break;
      case Field::kRespLen:
        put_uint(out, r.resp_len);
        break;
      case Field::kProbeLen:
        put_uint(out, r.probe_len);
        break;
      case Field::kAmplification:
        put_amplification(out, r);
        break;
      case Field::kData:
        if (json) out += '"';
        put_hex(out, v.data);
        if (json) out += '"';
        break;
    }
  }

  // The payload a probe slot sends (UDP; "" for other modules).
  std::string_view slot_name(uint16_t slot) const {
    return slot < slot_names_.size() ? std::string_view(slot_names_[slot]) : "";
  }

 private:
  std::vector<std::string> slot_names_;
  std::string scan_;  // quoted for csv, escaped for json
};

class CsvEncoder final : public Encoder {
 public:
  CsvEncoder(const OutputContext& ctx, bool dry_run)
      : dry_run_(dry_run),
        probe_payload_(ctx.protocol == Proto::kUdp),
        continuing_(ctx.continuing),
        fields_(ctx.csv_fields.empty() ? default_output_fields(ctx.protocol) : ctx.csv_fields),
        writer_(ctx, csv_quote(ctx.scan_name)) {
    // Field names resolved once, not compared per result.
    for (const std::string& f : fields_) columns_.push_back(field_of(f));
  }
  void begin(std::string& out) override {
    if (continuing_) return;  // a resumed run appends under the first run's header
    if (dry_run_) {
      out += probe_payload_ ? "ip,port,payload\n" : "ip,port\n";
      return;
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i) out += ',';
      out += fields_[i];
    }
    out += '\n';
  }
  void result(const ResultView& r, std::string& out) override {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) out += ',';
      writer_.put_field(columns_[i], r, out, false);
    }
    out += '\n';
  }
  void probe(const ProbeRecord& p, std::string& out) override {
    put_ip(out, p.ip);
    out += ',';
    put_uint(out, p.port);
    if (probe_payload_) {
      out += ',';
      put(out, csv_quote(std::string(writer_.slot_name(p.slot))));
    }
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
  bool dry_run_;
  bool probe_payload_;  // UDP: a dry run's records name each probe's payload
  bool continuing_;
  std::vector<std::string> fields_;
  FieldWriter writer_;
  std::vector<Field> columns_;
};

// One object per result: the fields every result has, then the module's own (TCP: the
// window; UDP: the payload, lengths, amplification and the kept bytes).
class NdjsonEncoder final : public Encoder {
 public:
  explicit NdjsonEncoder(const OutputContext& ctx)
      : writer_(ctx, json_escape(ctx.scan_name)),
        keep_data_(ctx.protocol == Proto::kUdp),
        probe_payload_(ctx.protocol == Proto::kUdp) {}
  void begin(std::string&) override {}
  void result(const ResultView& r, std::string& out) override {
    static constexpr Field kCommon[] = {
        Field::kIp,        Field::kPort, Field::kStatus, Field::kTtl,   Field::kWindow,
        Field::kTimestamp, Field::kScan, Field::kReason, Field::kProto, Field::kValidationBits};
    static constexpr Field kUdp[] = {Field::kPayload, Field::kRespLen, Field::kProbeLen,
                                     Field::kAmplification, Field::kData};
    char sep = '{';
    const auto field = [&](Field f) {
      out += sep;
      out += '"';
      out += kFieldNames[static_cast<size_t>(f)];
      out += "\":";
      writer_.put_field(f, r, out, true);
      sep = ',';
    };
    for (Field f : kCommon)
      if (f != Field::kWindow || r.r.proto == Proto::kTcp) field(f);
    if (r.r.proto != Proto::kTcp) {
      for (Field f : kUdp)
        if ((f != Field::kData || keep_data_) && (f != Field::kPayload || r.r.proto == Proto::kUdp))
          field(f);
    }
    out += "}\n";
  }
  void probe(const ProbeRecord& p, std::string& out) override {
    out += R"({"ip":")";
    put_ip(out, p.ip);
    out += R"(","port":)";
    put_uint(out, p.port);
    if (probe_payload_) {
      out += R"(,"payload":")";
      put(out, json_escape(std::string(writer_.slot_name(p.slot))));
      out += '"';
    }
    out += "}\n";
  }
  void end(std::string&) override {}

 private:
  FieldWriter writer_;
  bool keep_data_;
  bool probe_payload_;  // UDP: a dry run's records name each probe's payload
};

// masscan's -oL (output-list.c): "#masscan" first, then "<status> tcp <port> <ip> <unix time>",
// then "# end". masscan reports only open and closed; dpscan writes unreachable the same way.
class ListEncoder final : public Encoder {
 public:
  explicit ListEncoder(const OutputContext& ctx)
      : protocol_(proto_name(ctx.protocol)), continuing_(ctx.continuing) {}
  void begin(std::string& out) override {
    if (!continuing_) out += "#masscan\n";
  }
  void result(const ResultView& v, std::string& out) override {
    const Result& r = v.r;
    put(out, status_name(r.status));
    out += ' ';
    put(out, proto_name(r.proto));
    out += ' ';
    put_uint(out, r.port);
    out += ' ';
    put_ip(out, r.ip);
    out += ' ';
    put_uint(out, r.time_s);
    out += '\n';
  }
  void probe(const ProbeRecord& p, std::string& out) override {
    out += "probe ";
    put(out, protocol_);
    out += ' ';
    put_uint(out, p.port);
    out += ' ';
    put_ip(out, p.ip);
    out += " 0\n";
  }
  void end(std::string& out) override { out += "# end\n"; }

 private:
  std::string protocol_;
  bool continuing_;
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

const std::vector<std::string>& default_output_fields(Proto protocol) {
  static const std::vector<std::string> tcp{"ip", "port", "status", "ttl", "window", "timestamp"};
  static const std::vector<std::string> udp{
      "ip",        "port",    "proto",    "status",        "ttl",
      "timestamp", "payload", "resp_len", "amplification", "validation_bits"};
  static const std::vector<std::string> icmp{"ip", "proto", "status", "ttl", "timestamp", "reason"};
  return protocol == Proto::kTcp ? tcp : protocol == Proto::kUdp ? udp : icmp;
}

std::vector<std::string> parse_output_fields(const std::string& list) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string f =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (std::find(kFieldNames.begin(), kFieldNames.end(), f) == kFieldNames.end()) {
      throw UsageError(
          fmt::format("--output-fields: '{}' is not one of {}", f, fmt::join(kFieldNames, ", ")));
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

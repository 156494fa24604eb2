// nmap's XML output (the format of `nmap -oX`, DTD nmap.dtd), so that nmap's own tooling
// reads dpscan results: ndiff compares two scans, and other consumers of nmap XML work.
// Results are kept until the end and written grouped by address (one <host> per address,
// as nmap does; masscan's one <host> per result confuses tools that key hosts by address).
#include <algorithm>
#include <ctime>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "dpscan_version.h"
#include "encoder_base.hpp"

namespace dpscan {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string timestr(double t) {
  const auto secs = static_cast<std::time_t>(t);
  char buf[64];
  std::tm tm{};
  localtime_r(&secs, &tm);
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

class XmlEncoder final : public Encoder {
 public:
  XmlEncoder(const OutputContext& ctx, bool dry_run) : ctx_(ctx), dry_run_(dry_run) {}
  void begin(std::string&) override {}
  void result(const ResultView& r, std::string&) override { results_.push_back(r.r); }
  void probe(const ProbeRecord& p, std::string&) override {
    Result r;
    r.ip = p.ip;
    r.port = p.port;
    results_.push_back(r);
  }
  void end(std::string& out) override {
    auto line = [&out](std::string_view f, const auto&... args) {
      fmt::format_to(std::back_inserter(out), fmt::runtime(f), args...);
      out += '\n';
    };
    const auto start = static_cast<long long>(ctx_.start_time);
    const auto now = static_cast<long long>(std::time(nullptr));
    line(R"(<?xml version="1.0" encoding="UTF-8"?>)");
    line("<!DOCTYPE nmaprun>");
    line(
        R"(<nmaprun scanner="dpscan" args="{}" start="{}" startstr="{}" version="{}" xmloutputversion="1.05">)",
        xml_escape(ctx_.command_line), start, timestr(ctx_.start_time), DPSCAN_VERSION);
    const std::string_view protocol = proto_name(ctx_.protocol);
    // A host discovery (ICMP echo) has hosts and no ports, as nmap -sn writes it.
    const bool ports = ctx_.protocol != Proto::kIcmp;
    if (ports)
      line(R"(<scaninfo type="{}" protocol="{}" numservices="{}" services="{}"/>)", ctx_.scan_type,
           protocol, ctx_.ports.size(), fmt::join(ctx_.ports, ","));
    std::stable_sort(results_.begin(), results_.end(), [](const Result& a, const Result& b) {
      return a.ip != b.ip ? a.ip < b.ip : a.port < b.port;
    });
    size_t hosts = 0;
    for (size_t i = 0; i < results_.size();) {
      size_t j = i;
      while (j < results_.size() && results_[j].ip == results_[i].ip) ++j;
      const Result& first = results_[i];
      ++hosts;
      // A host that answered on a port is up; a discovery's ICMP error says it is not.
      const bool up = ports || first.status == Status::kUp;
      line(R"(<host starttime="{}" endtime="{}"><status state="{}" reason="{}" reason_ttl="{}"/>)",
           first.time_s, results_[j - 1].time_s, up ? "up" : "down",
           dry_run_ ? "user-set" : reason_name(first), first.ttl);
      line(R"(<address addr="{}" addrtype="{}"/>)", first.ip.to_string(),
           family_name(first.ip.family()));
      line("<hostnames>\n</hostnames>");
      if (!ports) {
        line("</host>");
        i = j;
        continue;
      }
      line("<ports>");
      for (size_t k = i; k < j; ++k) {
        const Result& r = results_[k];
        if (dry_run_) {
          line(
              R"(<port protocol="{}" portid="{}"><state state="unknown" reason="probe" reason_ttl="0"/></port>)",
              protocol, r.port);
        } else {
          line(
              R"(<port protocol="{}" portid="{}"><state state="{}" reason="{}" reason_ttl="{}"/></port>)",
              protocol, r.port,
              r.status == Status::kUnreachable ? "filtered" : status_name(r.status), reason_name(r),
              r.ttl);
        }
      }
      line("</ports>");
      line("</host>");
      i = j;
    }
    line(
        R"x(<runstats><finished time="{}" timestr="{}" elapsed="{}" summary="dpscan done; {} IP address(es) with {} result(s)" exit="success"/>)x",
        now, timestr(static_cast<double>(now)), now - start, hosts, results_.size());
    line(R"(<hosts up="{}" down="0" total="{}"/>)", hosts, hosts);
    line("</runstats>");
    line("</nmaprun>");
  }

 private:
  OutputContext ctx_;
  bool dry_run_;
  std::vector<Result> results_;
};

}  // namespace

std::unique_ptr<Encoder> make_xml_encoder(const OutputContext& ctx, bool dry_run) {
  return std::make_unique<XmlEncoder>(ctx, dry_run);
}

}  // namespace dpscan

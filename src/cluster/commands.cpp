#include "commands.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "bucket.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/output.hpp"
#include "dpscan/ports.hpp"
#include "nats_client.hpp"
#include "output/nats_sink.hpp"
#include "records.hpp"
#include "worker.hpp"

namespace dpscan {
namespace {

namespace po = boost::program_options;

struct Common {
  std::string cluster, bucket, creds, ca;
};

void add_common(po::options_description& d, Common& c) {
  // clang-format off
  d.add_options()
      ("cluster", po::value(&c.cluster), "the NATS JetStream servers: nats://HOST:PORT[,HOST:PORT...]")
      ("nats-creds", po::value(&c.creds), "NATS credentials file")
      ("nats-ca", po::value(&c.ca), "CA certificate file for tls:// servers")
      ("help,h", "print this help and exit");
  // clang-format on
}

po::variables_map parse(int argc, char** argv, const po::options_description& d,
                        const char* usage) {
  po::options_description all;
  all.add(d).add_options()("campaign", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("campaign", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(fmt::format("{}: {}", usage, e.what()));
  }
  if (vm.count("help")) return vm;
  if (!vm.count("cluster")) throw UsageError(fmt::format("{}: --cluster URL is required", usage));
  if (!vm.count("campaign"))
    throw UsageError(fmt::format("{}: name the campaign (its bucket)", usage));
  return vm;
}

uint64_t num(const Fields& f, const char* k) {
  const auto it = f.find(k);
  if (it == f.end()) return 0;
  try {
    return std::stoull(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string field(const Fields& f, const char* k, const char* dflt = "-") {
  const auto it = f.find(k);
  return it == f.end() ? dflt : it->second;
}

int cluster_status(int argc, char** argv) {
  Common c;
  bool json = false;
  po::options_description d("Usage: dpscan cluster status --cluster URL CAMPAIGN [--json]");
  add_common(d, c);
  d.add_options()("json", po::bool_switch(&json), "one JSON object instead of the table");
  const auto vm = parse(argc, argv, d, "dpscan cluster status");
  if (vm.count("help")) {
    std::cout << d << "\n";
    return 0;
  }
  c.bucket = vm["campaign"].as<std::string>();
  NatsClient client(parse_nats_url(c.cluster, "--cluster"), NatsAuth{c.creds, c.ca}, "--cluster");
  Bucket bucket(client, c.bucket, 1, false, 10);
  auto keys = bucket.keys();
  // Right after a node left, the bucket's replicas may still be electing a leader.
  for (int i = 0; i < 40 && !keys; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    keys = bucket.keys();
  }
  if (!keys)
    throw RuntimeError(
        fmt::format("{}: the bucket '{}' does not answer", client.servers(), c.bucket));
  std::map<std::string, Fields> plans;                       // scan -> plan fields
  std::map<std::string, std::map<uint32_t, Fields>> claims;  // scan -> shard -> claim
  for (const auto& k : *keys) {
    const auto e = bucket.get(k);
    if (!e || !e->found) continue;
    if (k.rfind("plan.", 0) == 0) {
      plans[k.substr(5)] = parse_fields(e->value);
    } else if (k.rfind("claim.", 0) == 0) {
      const size_t dot = k.rfind('.');
      claims[k.substr(6, dot - 6)][static_cast<uint32_t>(std::stoul(k.substr(dot + 1)))] =
          parse_fields(e->value);
    }
  }
  if (plans.empty())
    throw RuntimeError(fmt::format("bucket '{}' holds no campaign plan", c.bucket));
  const double now = unix_time();
  std::string out, js;
  uint64_t all_sent = 0, all_probes = 0, all_results = 0, shards_done = 0, shards_all = 0;
  double all_rate = 0;
  for (const auto& [scan, pf] : plans) {
    const uint64_t shards = num(pf, "shards");
    const uint64_t probes =
        num(pf, "addresses") * parse_ports(field(pf, "ports")).size() * (num(pf, "retries") + 1);
    out += fmt::format(
        "scan '{}' in bucket '{}' on {}: {} addresses x ports {} = {} probes, "
        "seed {}, {} shards\n",
        scan, c.bucket, client.servers(), num(pf, "addresses"), field(pf, "ports"), probes,
        field(pf, "seed"), shards);
    out += fmt::format("{:>7}  {:<8}  {:<28}  {:>12}  {:>7}  {:>10}  {:>9}  {}\n", "shard", "state",
                       "owner", "sent", "done", "results", "pps", "heartbeat");
    all_probes += probes;
    for (uint32_t i = 1; i <= shards; ++i) {
      ++shards_all;
      const auto it = claims[scan].find(i);
      if (it == claims[scan].end()) {
        out += fmt::format("{:>7}  {:<8}\n", fmt::format("{}/{}", i, shards), "waiting");
        js += fmt::format(R"({}{{"scan":"{}","shard":{},"state":"waiting"}})",
                          js.empty() ? "" : ",", scan, i);
        continue;
      }
      const Fields& f = it->second;
      const std::string state = field(f, "state");
      const uint64_t sent = num(f, "sent"), planned = num(f, "planned"),
                     results = num(f, "results");
      const double rate = state == "running" ? static_cast<double>(num(f, "rate")) : 0;
      double age = 0;
      try {
        age = now - std::stod(field(f, "time", "0"));
      } catch (const std::exception&) {
      }
      shards_done += state == "done";
      all_sent += sent;
      all_results += results;
      all_rate += rate;
      out += fmt::format(
          "{:>7}  {:<8}  {:<28}  {:>12}  {:>6.1f}%  {:>10}  {:>9.0f}  {:.1f} s ago\n",
          fmt::format("{}/{}", i, shards), state, field(f, "owner"), sent,
          planned ? 100.0 * static_cast<double>(sent) / static_cast<double>(planned) : 0.0, results,
          rate, age);
      js += fmt::format(
          R"({}{{"scan":"{}","shard":{},"state":"{}","owner":"{}","sent":{},"planned":{},)"
          R"("results":{},"rate_pps":{:.0f},"heartbeat_age_s":{:.1f}}})",
          js.empty() ? "" : ",", scan, i, state, field(f, "owner"), sent, planned, results, rate,
          age);
    }
  }
  const double left = all_probes > all_sent ? static_cast<double>(all_probes - all_sent) : 0;
  const std::string eta = shards_done == shards_all ? "done"
                          : all_rate > 0            ? fmt::format("{:.0f} s", left / all_rate)
                                                    : "unknown (nothing sending)";
  out += fmt::format(
      "total: {} of {} shards done, {} of {} probes sent ({:.1f}%), {} results, "
      "{:.0f} pps, ETA {}\n",
      shards_done, shards_all, all_sent, all_probes,
      all_probes ? 100.0 * static_cast<double>(all_sent) / static_cast<double>(all_probes) : 0.0,
      all_results, all_rate, eta);
  if (json)
    std::fputs(fmt::format(R"({{"bucket":"{}","shards":[{}],"shards_done":{},"shards_total":{},)"
                           R"("sent":{},"probes":{},"results":{},"rate_pps":{:.0f},"done":{}}})"
                           "\n",
                           c.bucket, js, shards_done, shards_all, all_sent, all_probes, all_results,
                           all_rate, shards_done == shards_all)
                   .c_str(),
               stdout);
  else
    std::fputs(out.c_str(), stdout);
  return 0;
}

int collect(int argc, char** argv) {
  Common c;
  std::string output = "-", format = "csv", scan_filter;
  po::options_description d(
      "Usage: dpscan collect --cluster URL CAMPAIGN [-o FILE] [--output-format F] [--scan NAME]");
  add_common(d, c);
  // clang-format off
  d.add_options()
      ("output,o", po::value(&output), "write the results to FILE (- is standard output)")
      ("output-format", po::value(&format), "csv, ndjson, list or xml")
      ("scan", po::value(&scan_filter), "only this scan's results (needed when the stream holds several)");
  // clang-format on
  const auto vm = parse(argc, argv, d, "dpscan collect");
  if (vm.count("help")) {
    std::cout << d << "\n";
    return 0;
  }
  c.bucket = vm["campaign"].as<std::string>();
  const OutputFormat fmt_ = parse_output_format(format);
  NatsClient client(parse_nats_url(c.cluster, "--cluster"), NatsAuth{c.creds, c.ca}, "--cluster");
  const std::string stream = results_stream(results_subject(c.bucket));
  // A cluster still electing a leader (after a node came back) answers "temporarily
  // unavailable" or not at all for a while: retried for up to 30 s, then an error.
  const auto retried = [&](auto request) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto pause = std::chrono::milliseconds(100);
    for (bool warned = false;;) {
      const natsStatus st = request();
      if (st == NATS_OK || st == NATS_NOT_FOUND || std::chrono::steady_clock::now() > give_up)
        return st;
      if (!std::exchange(warned, true))
        log::warn("collect: stream {}: {}; retrying for up to 30 s", stream, nats_error(st));
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  };
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s =
      retried([&] { return js_GetStreamInfo(&si, client.js(), stream.c_str(), nullptr, &jerr); });
  if (s == NATS_NOT_FOUND)
    throw RuntimeError(fmt::format("{}: no results stream {} for campaign '{}'", client.servers(),
                                   stream, c.bucket));
  if (s != NATS_OK)
    throw RuntimeError(fmt::format("{}: stream {}: {}", client.servers(), stream, nats_error(s)));
  const uint64_t first = si->State.FirstSeq, last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  // Every record, in stream order; a pair reported by two workers (a shard taken over resends
  // the window after its checkpoint) or twice by one is written once: the first.
  std::map<std::string, std::vector<Record>> by_scan;
  uint64_t messages = 0, records = 0, malformed = 0, duplicates = 0, probes = 0;
  // per scan: (address, port, payload)
  std::map<std::string, std::unordered_set<std::string>> seen;
  for (uint64_t seq = first; seq && seq <= last; ++seq) {
    natsMsg* m = nullptr;
    s = retried([&] { return js_GetMsg(&m, client.js(), stream.c_str(), seq, nullptr, &jerr); });
    if (s == NATS_NOT_FOUND) continue;  // deleted
    if (s != NATS_OK)
      throw RuntimeError(fmt::format("{}: stream {} message {}: {}", client.servers(), stream, seq,
                                     nats_error(s)));
    ++messages;
    const std::string_view data(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
    size_t at = 0;
    while (at < data.size()) {
      size_t nl = data.find('\n', at);
      if (nl == std::string_view::npos) nl = data.size();
      const std::string_view line = data.substr(at, nl - at);
      at = nl + 1;
      if (line.empty()) continue;
      ++records;
      auto rec = parse_record(line);
      if (!rec) {
        if (malformed++ < 3)
          log::warn("collect: message {}: not a dpscan record: {}", seq,
                    std::string(line.substr(0, 120)));
        continue;
      }
      probes += rec->probe;
      const std::string key =
          fmt::format("{} {} {}", rec->result.ip.to_string(), rec->result.port, rec->payload);
      if (!seen[rec->scan].insert(key).second) {
        ++duplicates;
        continue;
      }
      by_scan[rec->scan].push_back(*rec);
    }
    natsMsg_Destroy(m);
  }
  if (probes && probes != records - malformed)
    throw RuntimeError("collect: the stream mixes a dry run's probes with results");
  std::string scan = scan_filter;
  if (scan.empty() && by_scan.size() > 1) {
    std::string names;
    for (const auto& [n, v] : by_scan) names += (names.empty() ? "" : ", ") + n;
    throw UsageError(
        fmt::format("collect: the stream holds the results of several scans ({}): "
                    "pick one with --scan",
                    names));
  }
  if (scan.empty() && !by_scan.empty()) scan = by_scan.begin()->first;
  if (!scan_filter.empty() && !by_scan.count(scan_filter))
    throw UsageError(fmt::format("collect: no results of scan '{}' in the stream", scan_filter));
  OutputContext ctx;
  ctx.scan_name = scan;
  ctx.start_time = unix_time();
  std::vector<Record>& recs = by_scan[scan];
  // The results' module and payload names, as the scan's outputs had them.
  for (Record& r : recs) {
    if (!r.probe) ctx.protocol = r.result.proto;
    if (r.payload.empty()) continue;
    if (r.probe) ctx.protocol = Proto::kUdp;  // a UDP dry run's probe names its payload
    auto it = std::find(ctx.slot_names.begin(), ctx.slot_names.end(), r.payload);
    if (it == ctx.slot_names.end()) it = ctx.slot_names.insert(it, r.payload);
    r.result.slot = static_cast<uint16_t>(it - ctx.slot_names.begin());
  }
  Outputs out({OutputSpec{fmt_, output}}, ctx, probes > 0);
  out.begin();
  uint64_t written = 0;
  for (const Record& r : recs) {
    if (r.probe)
      out.probe(ProbeRecord{r.result.ip, r.result.port, r.result.slot});
    else
      out.result(ResultView{r.result, r.data});
    ++written;
  }
  out.end();
  log::info(
      "collect: {} messages from stream {}, {} records, {} written, {} duplicates left "
      "out, {} malformed",
      messages, stream, records, written, duplicates, malformed);
  if (malformed) {
    log::error("collect: {} records in the stream were not dpscan's records (left out)", malformed);
    return 1;
  }
  return 0;
}

}  // namespace

int run_cluster_command(int argc, char** argv) {
  const std::string cmd = argv[0];
  if (cmd == "collect") return collect(argc, argv);
  if (argc < 2 || std::string(argv[1]) != "status")
    throw UsageError(
        "dpscan cluster: the command is 'dpscan cluster status --cluster URL CAMPAIGN'");
  return cluster_status(argc - 1, argv + 1);
}

}  // namespace dpscan

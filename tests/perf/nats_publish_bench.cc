// How many results per second dpscan's JetStream sink stores: results encoded as ndjson (as a
// scan writes them), handed to the sink in 64 KiB batches, published with message ids and
// acknowledged by the stream. The clock runs from the first result to the moment close()
// returns, when every batch is acknowledged. Run by scripts/bench-nats.sh against a 3-node
// nats-server cluster it starts.
//   nats_publish_bench URL/SUBJECT REPLICAS RESULTS [OFFERED_PER_S]
// OFFERED_PER_S > 0 feeds the results at that rate (a scan's result rate), to see whether the
// sink keeps up or spools; 0 feeds them as fast as the encoder goes.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "bench_util.hpp"
#include "dpscan/output.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s nats://HOST:PORT/SUBJECT REPLICAS RESULTS [OFFERED_PER_S]\n",
                 argv[0]);
    return 2;
  }
  const int replicas = std::atoi(argv[2]);
  const uint64_t n = std::strtoull(argv[3], nullptr, 10);
  const double offered = argc > 4 ? std::atof(argv[4]) : 0;
  dpscan::OutputSpec spec{dpscan::OutputFormat::kNdjson, argv[1], true};
  spec.nats_replicas = replicas;
  spec.nats_wait = true;
  dpscan::OutputContext ctx;
  ctx.scan_name = "bench";
  std::mt19937_64 rng(1);
  std::vector<dpscan::Result> pool(1 << 16);
  for (auto& r : pool) {
    r.ip = dpscan::Ipv4Addr(0xc6120000u | static_cast<uint32_t>(rng() & 0x1ffff));
    r.port = static_cast<uint16_t>(1 + rng() % 1024);
    r.status = dpscan::Status::kOpen;
    r.ttl = 64;
    r.window = 64240;
    r.time_s = 1796083200;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::string report;
  {
    dpscan::Outputs out({spec}, ctx, false);
    out.begin();
    for (uint64_t i = 0; i < n; ++i) {
      out.result(pool[i & (pool.size() - 1)]);
      if (offered > 0 && (i & 1023) == 1023) {  // pace in steps of 1024 results
        const double due = static_cast<double>(i + 1) / offered;
        const double now = bench::seconds_since(t0);
        if (due > now) std::this_thread::sleep_for(std::chrono::duration<double>(due - now));
      }
    }
    const double fed = bench::seconds_since(t0);
    out.end();
    const auto reports = out.reports();
    report = reports.empty() ? "" : reports.front();
    const double all = bench::seconds_since(t0);
    std::printf(
        "replicas %d: %llu results fed in %.3f s, all acknowledged after %.3f s: %.0f "
        "results/s stored%s\n  sink: {%s}\n",
        replicas, static_cast<unsigned long long>(n), fed, all, static_cast<double>(n) / all,
        offered > 0
            ? (" (offered " + std::to_string(static_cast<long long>(offered)) + "/s)").c_str()
            : "",
        report.c_str());
  }
  return 0;
}

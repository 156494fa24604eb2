// dpscan's entry point: the only place that turns errors into exit codes (2 for usage
// errors, 1 for run-time failures, 130 after an interrupt) and the only place with signal
// handlers.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include <fmt/format.h>

#include "cluster/commands.hpp"
#include "cluster/worker.hpp"
#include "dpscan/campaign.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/metrics.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/text.hpp"
#include "engine/dataplane.hpp"
#include "engine/engine.hpp"
#include "engine/interrupts.hpp"
#include "probe/modules.hpp"

namespace {

void print_closing(const dpscan::RunSummary& s) {
  using dpscan::log::info;
  if (s.dry_run) {
    info("dry run: {} probes written{}", s.sent(), s.interrupted ? " (interrupted)" : "");
    return;
  }
  std::string results;
  for (size_t i = 0; i < dpscan::kStatusCount; ++i) {
    const auto st = static_cast<dpscan::Status>(i);
    results += fmt::format(", {} {}", dpscan::status_name(st), s.counters.get(st));
  }
  info("done: sent {} in {:.2f} s ({:.0f} pps), received {}{}, duplicates {}, dropped {}{}",
       s.sent(), s.send_duration_s, s.send_rate(), s.counters.get(dpscan::RxCounter::kReceived),
       results, s.counters.get(dpscan::RxCounter::kDuplicates), s.dropped_total(),
       s.interrupted ? " (interrupted)" : "");
}

// The /metrics server (--metrics-listen) of the scan that runs, started by its run_one and
// kept until the next scan asks for another address (or none) or run() returns: so it stops
// only after the scan's outputs, its summary and its cluster lease are finished. The scans
// of a campaign with the same address publish in turn to one server.
class MetricsServers {
 public:
  dpscan::MetricsServer* get(const dpscan::ScanPlan& plan) {
    if (plan.metrics_listen != spec_) {
      server_.reset();  // before the next one binds: the two may share a port
      spec_.clear();
      if (!plan.metrics_listen.empty()) {
        server_ = std::make_unique<dpscan::MetricsServer>(plan.metrics_listen);
        spec_ = plan.metrics_listen;
        dpscan::log::info("metrics: http://{}/metrics", plan.metrics_listen);
      }
    }
    return server_.get();
  }

 private:
  std::string spec_;
  std::unique_ptr<dpscan::MetricsServer> server_;
};

// One scan (or a cluster worker's shard of one): its outputs, the engine, the summary.
// Returns true when it was interrupted.
bool run_one(const dpscan::ScanPlan& plan, dpscan::Dataplane& dataplane,
             MetricsServers& metrics_servers, dpscan::RunLease* lease = nullptr) {
  dpscan::MetricsServer* metrics = metrics_servers.get(plan);
  dpscan::OutputContext ctx;
  const dpscan::ModuleNames names = dpscan::module_names(plan.probe);
  ctx.protocol = names.protocol;
  ctx.slot_names = dpscan::probe_slot_names(plan);
  ctx.scan_type = std::string(names.scan_type);
  ctx.scan_name = plan.name;
  ctx.csv_fields = plan.csv_fields;
  ctx.command_line = plan.command_line;
  ctx.ports = plan.ports;
  ctx.start_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  dpscan::Outputs outputs(plan.outputs, ctx, plan.dry_run);
  dpscan::RunSummary summary =
      plan.dry_run
          ? dpscan::run_dry_run(plan, outputs, dpscan::interrupts(), lease, metrics)
          : dpscan::run_scan(plan, dataplane, outputs, dpscan::interrupts(), lease, metrics);
  outputs.end();
  summary.sinks = outputs.reports();
  if (lease)
    summary.cluster = fmt::format(R"("shard": "{}/{}", "taken_over": {})", plan.shard_index + 1,
                                  plan.shard_count, lease->lost());
  summary.scan_name = plan.name;
  summary.plan = dpscan::describe_plan(plan, summary.seed);
  if (!plan.summary_path.empty()) dpscan::write_summary_file(summary, plan.summary_path);
  print_closing(summary);
  return summary.interrupted;
}

// The command line for the XML's nmaprun args: passwords in URLs masked.
std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + dpscan::mask_url_credentials(argv[i]);
  return s;
}

int run(int argc, char** argv) {
  if (argc >= 2 && (std::string(argv[1]) == "cluster" || std::string(argv[1]) == "collect"))
    return dpscan::run_cluster_command(argc - 1, argv + 1);
  dpscan::OptionMap cli = dpscan::command_line_options(argc, argv);  // argv parsed once
  if (dpscan::print_help_or_version(cli)) return 0;
  const bool print = cli.erase("print-config") > 0;
  const auto config = cli.find("config");
  const bool campaign_file = config != cli.end();
  std::vector<dpscan::NamedOptions> scans;
  dpscan::ClusterSection cluster;
  std::string cluster_url;
  if (const auto c = cli.find("cluster"); c != cli.end()) {
    cluster_url = c->second.values.at(0);
    cli.erase(c);
  }
  if (!campaign_file) {
    scans.push_back({"", "", cli});
  } else {
    const dpscan::Campaign campaign = dpscan::load_campaign(config->second.values.at(0));
    cli.erase("config");
    scans = dpscan::merge_campaign(campaign, cli);
    cluster = campaign.cluster;
  }
  if (!cluster_url.empty() && !cluster.present)
    throw dpscan::UsageError(
        "--cluster runs the shards of a cluster campaign: -c FILE with 'shards: N' (and a "
        "'cluster' section)");
  if (print && campaign_file) {  // the merged campaign as it is
    std::fputs(dpscan::print_config(scans).c_str(), stdout);
    return 0;
  }
  std::vector<dpscan::ScanPlan> plans;
  std::vector<std::string> scan_places;  // file:line:col of each campaign scan
  for (const auto& scan : scans) {       // every scan is checked before the first one runs
    plans.push_back(dpscan::plan_from_options(scan));
    scan_places.push_back(scan.where);
    plans.back().command_line = joined_command_line(argc, argv);
  }
  if (print) {  // a command line, checked, as a campaign
    scans.front().name = plans.front().name;
    std::fputs(dpscan::print_config(scans).c_str(), stdout);
    return 0;
  }
  // One process starts DPDK once: the scans of a campaign that send must share a dataplane.
  std::string signature;
  for (size_t i = 0; i < plans.size(); ++i) {
    const std::string s = dpscan::dataplane_signature(plans[i]);
    if (s.empty()) continue;
    if (signature.empty())
      signature = s;
    else if (s != signature) {
      throw dpscan::UsageError(fmt::format(
          "{}scan '{}': the scans of a campaign that send share one device: device, eal-args, "
          "tx-lcores, "
          "rx-lcores and bench-responder must be the same in all of them ({} vs {})",
          scan_places.size() > i && !scan_places[i].empty() ? scan_places[i] + ": " : "",
          plans[i].name, s, signature));
    }
  }
  dpscan::log::level() = plans.front().verbosity;
  dpscan::install_interrupt_handlers();
  MetricsServers metrics;  // destroyed last: it outlives every scan, lease and summary
  dpscan::Dataplane dataplane;
  if (cluster.present) {
    if (cluster_url.empty()) cluster_url = cluster.servers;
    if (cluster_url.empty())
      throw dpscan::UsageError(fmt::format(
          "{}: a cluster campaign needs its servers: --cluster URL, or 'servers' in 'cluster'",
          cluster.where));
    dpscan::ClusterJob job{plans, scan_places, cluster, cluster_url};
    return dpscan::run_cluster_worker(std::move(job), dpscan::interrupts(),
                                      [&](const dpscan::ScanPlan& plan, dpscan::RunLease& lease) {
                                        dpscan::log::info("scan '{}' shard {}/{}", plan.name,
                                                          plan.shard_index + 1, plan.shard_count);
                                        return run_one(plan, dataplane, metrics, &lease);
                                      });
  }
  for (const auto& plan : plans) {
    if (plans.size() > 1) dpscan::log::info("scan '{}'", plan.name);
    if (run_one(plan, dataplane, metrics)) return 130;  // Ctrl-C ends the campaign
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dpscan::UsageError& e) {
    dpscan::log::error("{}", e.what());
    std::fputs("Try 'dpscan --help' for more information.\n", stderr);
    return 2;
  } catch (const dpscan::RuntimeError& e) {
    dpscan::log::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    dpscan::log::error("{}", e.what());
    return 1;
  }
}

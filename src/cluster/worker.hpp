// A worker of a cluster campaign (docs/cluster.md): `dpscan -c CAMPAIGN --cluster URL`. Any
// number of workers, on any machines, run the campaign's shards between them through a NATS
// JetStream key-value bucket: a worker claims a free shard by creating its claim key (create
// fails when another worker was first), keeps the claim alive with a heartbeat (an update on
// the revision it last wrote), stores the shard's checkpoints in the bucket, and marks the
// shard done. A claim whose revision has not moved for claim-ttl seconds (as seen by a
// worker that could read the bucket all that time) is taken over by compare-and-set on that
// revision, and the shard resumes from its last checkpoint with the same seed. The plan's
// identity is stored once per scan; a worker with another plan or seed is refused.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "dpscan/campaign.hpp"
#include "dpscan/plan.hpp"
#include "engine/lease.hpp"

namespace dpscan {

struct ClusterJob {
  std::vector<ScanPlan> plans;      // the campaign's scans (no --shard, no --checkpoint)
  std::vector<std::string> places;  // each scan's file:line:col, for errors
  ClusterSection section;
  std::string servers;  // --cluster, else the section's
};

// Runs one shard (plan.shard_index/count set, results to the stream added); returns whether
// the user interrupted it.
using RunShard = std::function<bool(const ScanPlan& plan, RunLease& lease)>;

// Returns the exit code: 0 once every shard of every scan is done, 130 after Ctrl-C.
int run_cluster_worker(ClusterJob job, const std::atomic<int>& interrupts,
                       const RunShard& run_shard);

// The results subject of a campaign's bucket: dpscan.BUCKET.results.
std::string results_subject(const std::string& bucket);

}  // namespace dpscan

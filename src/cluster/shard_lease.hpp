// The lease of one claimed shard of a cluster campaign (docs/cluster.md): the claim's
// heartbeat and the shard's checkpoints, on a thread of its own, so that the main loop never
// waits for the server. Every write is a compare-and-set on the revision this lease last
// wrote (claim.SCAN.I and ckpt.SCAN.I alike): a write that finds another worker's value means
// the shard was taken over. A value of this worker's own (a write whose acknowledgement was
// lost and that was applied late, across a reconnect) is taken as its own.
//
// Fencing: an owner whose heartbeat the bucket has not taken for claim-ttl minus a margin
// (claim-ttl / 4), timed on its own monotonic clock from the moment the last heartbeat that
// worked was sent, counts the shard as lost and stops sending it. Another worker takes a shard
// over only after claim-ttl of silence seen on its clock, which starts no earlier than that
// heartbeat was sent: the two never send one shard at the same time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bucket.hpp"
#include "engine/lease.hpp"

namespace dpscan {

struct LeaseSetup {
  using Clock = std::chrono::steady_clock;
  std::string claim, ckpt;  // the keys
  std::string owner;        // this worker's id, as in the claim's owner field
  Fields base;              // fields of every heartbeat (owner, shard, scan)
  uint64_t claim_revision = 0;
  uint64_t ckpt_revision = 0;    // 0: the shard has no checkpoint yet
  Clock::time_point claimed_at;  // when the request that claimed the shard was sent
  double heartbeat_s = 1;
  double claim_ttl_s = 10;
};

// How long an owner may go without a heartbeat the bucket took before it stops sending.
double fence_seconds(double claim_ttl_s);

class ShardLease final : public RunLease {
 public:
  using Clock = std::chrono::steady_clock;
  ShardLease(Bucket& bucket, LeaseSetup setup);
  ~ShardLease() override;
  ShardLease(const ShardLease&) = delete;
  ShardLease& operator=(const ShardLease&) = delete;

  void checkpoint(const Checkpoint& c) override;
  void progress(const LeaseProgress& p) override;
  // Taken over (a write found another worker's value), or fenced (no heartbeat taken for
  // fence_seconds()): send no more. Once true, it stays true.
  bool lost() const override;

  // Stops the heartbeat, stores the last checkpoint and sets the claim's state ("done", or
  // "free" for another worker to continue at once), waiting for the cluster as long as it
  // takes (after a second Ctrl-C: one try). False when the shard was lost.
  bool finish(const std::string& state, const std::atomic<int>& interrupts);

 private:
  void stop();
  bool store_checkpoint();
  bool beat(const std::string& state);
  void run();
  bool ours(const Bucket::Entry& e) const;  // the claim's value names this worker
  static int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }

  Bucket& bucket_;
  const LeaseSetup setup_;
  uint64_t revision_;                    // the claim's, as this lease last wrote it
  uint64_t ckpt_revision_;               // the checkpoint's
  std::vector<std::string> ckpt_tried_;  // checkpoint texts written since ckpt_revision_
  const Clock::duration period_;
  const Clock::duration fence_;
  uint64_t beats_ = 0;
  bool silent_ = false;
  std::atomic<bool> lost_{false};
  mutable std::atomic<bool> fenced_{false};
  std::atomic<int64_t> last_ok_;  // when the last heartbeat the bucket took was sent
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string pending_ckpt_;
  LeaseProgress progress_;
  std::thread thread_;
};

}  // namespace dpscan

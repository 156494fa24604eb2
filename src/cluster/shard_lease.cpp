#include "shard_lease.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "dpscan/checkpoint.hpp"
#include "dpscan/log.hpp"

namespace dpscan {

double fence_seconds(double claim_ttl_s) {
  return claim_ttl_s * 0.75;
}

ShardLease::ShardLease(Bucket& bucket, LeaseSetup setup)
    : bucket_(bucket),
      setup_(std::move(setup)),
      revision_(setup_.claim_revision),
      ckpt_revision_(setup_.ckpt_revision),
      period_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(setup_.heartbeat_s))),
      fence_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(fence_seconds(setup_.claim_ttl_s)))),
      last_ok_(ticks(setup_.claimed_at)) {
  thread_ = std::thread([this] { run(); });
}

ShardLease::~ShardLease() {
  stop();
}

void ShardLease::checkpoint(const Checkpoint& c) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_ckpt_ = checkpoint_text(c);
}

void ShardLease::progress(const LeaseProgress& p) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_ = p;
}

bool ShardLease::lost() const {
  if (lost_.load() || fenced_.load()) return true;
  const int64_t silent = ticks(Clock::now()) - last_ok_.load();
  if (silent <= fence_.count()) return false;
  if (!fenced_.exchange(true))
    log::warn(
        "cluster: {}: the bucket has taken no heartbeat for {:.1f} s (claim-ttl {} s less a "
        "margin): this worker stops sending the shard, another one may take it over",
        setup_.claim, std::chrono::duration<double>(Clock::duration(silent)).count(),
        setup_.claim_ttl_s);
  return true;
}

bool ShardLease::finish(const std::string& state, const std::atomic<int>& interrupts) {
  stop();
  for (int tries = 0;; ++tries) {
    if (lost()) return false;
    if (beat("running") && store_checkpoint() && beat(state)) return true;
    if (lost_) return false;
    if (interrupts.load() >= 2) return false;
    if (tries == 4)
      log::warn("cluster: the bucket does not answer; waiting to mark {} {}", setup_.claim, state);
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void ShardLease::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ShardLease::ours(const Bucket::Entry& e) const {
  if (!e.found) return false;
  const Fields f = parse_fields(e.value);
  const auto it = f.find("owner");
  return it != f.end() && it->second == setup_.owner;
}

// A compare-and-set on the checkpoint's revision: a checkpoint that another worker wrote
// (it took the shard over) is never overwritten.
bool ShardLease::store_checkpoint() {
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ckpt_.empty()) return true;
    text = pending_ckpt_;
  }
  for (int tries = 0; tries < 3; ++tries) {
    if (ckpt_tried_.size() >= 8) ckpt_tried_.erase(ckpt_tried_.begin());
    ckpt_tried_.push_back(text);
    uint64_t rev = 0;
    Bucket::Entry seen;
    const auto r = ckpt_revision_ == 0
                       ? bucket_.create(setup_.ckpt, text, rev, &seen)
                       : bucket_.update(setup_.ckpt, text, ckpt_revision_, rev, &seen);
    switch (r) {
      case Bucket::Cas::kDone: {
        ckpt_revision_ = rev;
        ckpt_tried_.clear();
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_ckpt_ == text) pending_ckpt_.clear();
        return true;
      }
      case Bucket::Cas::kConflict:
        // One of this lease's own earlier writes, applied after its answer was lost.
        if (seen.found &&
            std::find(ckpt_tried_.begin(), ckpt_tried_.end(), seen.value) != ckpt_tried_.end()) {
          ckpt_revision_ = seen.revision;
          continue;
        }
        log::warn("cluster: {} was written by another worker; this worker stops sending {}",
                  setup_.ckpt, setup_.claim);
        lost_ = true;
        return false;
      case Bucket::Cas::kNoAnswer:
        return false;
    }
  }
  return false;
}

// One compare-and-set of the claim on the revision this lease last wrote.
bool ShardLease::beat(const std::string& state) {
  Fields f = setup_.base;
  {
    std::lock_guard<std::mutex> lock(mu_);
    f["sent"] = std::to_string(progress_.sent);
    f["planned"] = std::to_string(progress_.planned);
    f["results"] = std::to_string(progress_.results);
    f["rate"] = fmt::format("{:.0f}", progress_.rate_pps);
  }
  f["state"] = state;
  f["beat"] = std::to_string(++beats_);
  f["time"] = fmt::format("{:.1f}", unix_time());
  const std::string value = fields_text(f);
  for (int tries = 0; tries < 3; ++tries) {
    const auto sent_at = Clock::now();
    uint64_t rev = 0;
    Bucket::Entry seen;
    switch (bucket_.update(setup_.claim, value, revision_, rev, &seen)) {
      case Bucket::Cas::kDone:
        revision_ = rev;
        last_ok_.store(std::max(last_ok_.load(), ticks(sent_at)));
        if (silent_) log::info("cluster: the bucket answers again; {} still ours", setup_.claim);
        silent_ = false;
        return true;
      case Bucket::Cas::kConflict:
        if (ours(seen)) {  // an earlier heartbeat of ours, applied late (a reconnect)
          log::info("cluster: {}: a heartbeat of this worker was stored late (revision {})",
                    setup_.claim, seen.revision);
          revision_ = seen.revision;
          continue;
        }
        log::warn("cluster: {} was taken over ({}); this worker stops sending it", setup_.claim,
                  seen.found ? seen.value : "the claim is gone");
        lost_ = true;
        return false;
      case Bucket::Cas::kNoAnswer:
        if (!silent_)
          log::warn("cluster: the bucket does not answer; scanning on, results spooled");
        silent_ = true;
        return false;
    }
  }
  return false;
}

void ShardLease::run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto next = Clock::now() + period_;
  while (!stop_ && !lost_) {
    cv_.wait_until(lock, next, [&] { return stop_; });
    if (stop_) break;
    // On a fixed schedule: a slow answer does not push the next heartbeat back.
    next += period_;
    if (next < Clock::now()) next = Clock::now();
    lock.unlock();
    // The heartbeat first: a worker that lost the shard (cut off, taken over) finds out
    // before it could overwrite the new owner's checkpoint.
    if (beat("running")) store_checkpoint();
    lock.lock();
  }
}

}  // namespace dpscan

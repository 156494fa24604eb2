#include "worker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "bucket.hpp"
#include "dpscan/checkpoint.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/ports.hpp"
#include "dpscan/rng.hpp"
#include "dpscan/siphash.hpp"
#include "nats_client.hpp"
#include "output/nats_sink.hpp"

namespace dpscan {
namespace {

using Clock = std::chrono::steady_clock;

std::string make_owner_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !*host) std::snprintf(host, sizeof host, "?");
  for (char* c = host; *c; ++c)
    if (*c == ' ' || *c == '=') *c = '_';
  return fmt::format("{}/{}/{:04x}", host, ::getpid(), std::random_device{}() & 0xffff);
}

// What fixes a scan's probes and their split, as stored under plan.SCAN. The seed is
// compared on its own (a worker without --seed takes the stored one).
Fields plan_fields(const ScanPlan& p, uint32_t shards, uint64_t seed) {
  Fields f;
  f["targets"] = fmt::format("{:016x}", targets_identity(p));
  f["family"] = std::string(family_name(p.family));
  f["module"] = std::string(to_string(p.probe));
  f["ports"] = ports_text(p.ports);
  f["shards"] = std::to_string(shards);
  f["tx-lcores"] = std::to_string(p.tx_lcores);
  f["retries"] = std::to_string(p.retries);
  f["seed"] = std::to_string(seed);
  return f;
}

// The heartbeat and checkpoint store of one claimed shard, on a thread of its own.
class ShardLease final : public RunLease {
 public:
  ShardLease(Bucket& bucket, std::string claim, std::string ckpt, Fields base, uint64_t revision,
             double heartbeat_s)
      : bucket_(bucket),
        claim_(std::move(claim)),
        ckpt_(std::move(ckpt)),
        base_(std::move(base)),
        revision_(revision),
        period_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(heartbeat_s))) {
    thread_ = std::thread([this] { run(); });
  }
  ~ShardLease() override { stop(); }

  void checkpoint(const Checkpoint& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ckpt_ = checkpoint_text(c);
  }
  void progress(const LeaseProgress& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    progress_ = p;
  }
  bool lost() const override { return lost_.load(); }

  // Stops the heartbeat, stores the last checkpoint and sets the claim's state ("done", or
  // "free" for another worker to continue at once), waiting for the cluster as long as it
  // takes (a second Ctrl-C gives up). False when the shard had been taken over.
  bool finish(const std::string& state, const std::atomic<int>& interrupts) {
    stop();
    if (lost_) return false;
    for (int tries = 0;; ++tries) {
      if (beat("running") && store_checkpoint() && beat(state)) return !lost_;
      if (lost_) return false;
      if (interrupts.load() >= 2) return false;
      if (tries == 4)
        log::warn("cluster: the bucket does not answer; waiting to mark {} {}", claim_, state);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  bool store_checkpoint() {
    std::string text;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_ckpt_.empty()) return true;
      text = pending_ckpt_;
    }
    if (!bucket_.put(ckpt_, text)) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_ckpt_ == text) pending_ckpt_.clear();
    return true;
  }

  // One compare-and-set of the claim on the revision this lease last wrote.
  bool beat(const std::string& state) {
    Fields f = base_;
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
    uint64_t rev = 0;
    switch (bucket_.update(claim_, fields_text(f), revision_, rev)) {
      case Bucket::Cas::kDone:
        revision_ = rev;
        if (silent_) log::info("cluster: the bucket answers again; {} still ours", claim_);
        silent_ = false;
        return true;
      case Bucket::Cas::kConflict: {
        const auto e = bucket_.get(claim_);
        log::warn("cluster: {} was taken over ({}); this worker stops sending it", claim_,
                  e && e->found ? e->value : "the claim is gone");
        lost_ = true;
        return false;
      }
      case Bucket::Cas::kNoAnswer:
        if (!silent_)
          log::warn("cluster: the bucket does not answer; scanning on, results spooled");
        silent_ = true;
        return false;
    }
    return false;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_ && !lost_) {
      cv_.wait_for(lock, period_, [&] { return stop_; });
      if (stop_) break;
      lock.unlock();
      // The heartbeat first: a worker that lost the shard (cut off, taken over) finds out
      // before it could overwrite the new owner's checkpoint.
      if (beat("running")) store_checkpoint();
      lock.lock();
    }
  }

  Bucket& bucket_;
  const std::string claim_, ckpt_;
  const Fields base_;
  uint64_t revision_;
  const Clock::duration period_;
  uint64_t beats_ = 0;
  bool silent_ = false;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string pending_ckpt_;
  LeaseProgress progress_;
  std::thread thread_;
};

struct Unit {
  size_t scan;     // index into the job's plans
  uint32_t shard;  // 1-based
  std::string claim, ckpt;
};

// /dev/null, a FIFO: written by every shard in turn without harm.
bool not_a_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

// Replaces "{shard}" by "I-of-N" in a path.
std::string with_shard(std::string path, uint32_t shard, uint32_t shards) {
  const std::string tag = fmt::format("{}-of-{}", shard, shards);
  for (size_t at; (at = path.find("{shard}")) != std::string::npos;) path.replace(at, 7, tag);
  return path;
}

class Worker {
 public:
  Worker(ClusterJob job, const std::atomic<int>& interrupts)
      : job_(std::move(job)),
        interrupts_(interrupts),
        owner_(make_owner_id()),
        client_(parse_nats_url(job_.servers, "--cluster"),
                NatsAuth{job_.plans.front().nats_creds, job_.plans.front().nats_ca}, "--cluster"),
        bucket_(client_, job_.section.bucket, job_.section.replicas, true, 30),
        ttl_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(job_.section.claim_ttl_s))) {}

  int run(const RunShard& run_shard) {
    agree_on_plans();
    add_results_stream();
    const uint32_t shards = job_.section.shards;
    for (size_t s = 0; s < job_.plans.size(); ++s)
      for (uint32_t i = 1; i <= shards; ++i)
        units_.push_back(
            {s, i, claim_key(job_.plans[s].name, i), checkpoint_key(job_.plans[s].name, i)});
    log::info("cluster: worker {} on bucket '{}' ({}), {} scan(s) x {} shards", owner_,
              bucket_.name(), client_.servers(), job_.plans.size(), shards);
    size_t ran = 0;
    for (;;) {
      if (interrupts_.load() > 0) return 130;
      bool all_done = true;
      // Silence is counted only while this worker can write to the bucket itself: while
      // the cluster cannot take writes (no leader, away), nobody's heartbeat can.
      bool unanswered = !bucket_.put("worker." + bucket_scan_name(owner_),
                                     fmt::format("time={:.1f}", unix_time()));
      if (unanswered) seen_.clear();
      for (const Unit& u : units_) {
        if (interrupts_.load() > 0) return 130;
        const auto e = bucket_.get(u.claim);
        if (!e) {
          unanswered = true;
          all_done = false;
          seen_.clear();  // time without answers does not count towards an expiry
          continue;
        }
        const Fields f = e->found ? parse_fields(e->value) : Fields{};
        if (e->found && f.count("state") && f.at("state") == "done") continue;
        all_done = false;
        std::optional<uint64_t> rev = claim(u, *e, f);
        if (!rev) continue;
        ++ran;
        if (run_unit(u, *rev, run_shard)) return 130;
      }
      if (all_done) break;
      if (unanswered && !warned_) {
        log::warn("cluster: the bucket does not answer; waiting for it");
        warned_ = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    bucket_.erase("worker." + bucket_scan_name(owner_));
    log::info("cluster: every shard of bucket '{}' is done ({} run by this worker)", bucket_.name(),
              ran);
    return 0;
  }

 private:
  // Stores each scan's plan identity, or checks this worker's against the stored one.
  void agree_on_plans() {
    for (size_t s = 0; s < job_.plans.size(); ++s) {
      ScanPlan& p = job_.plans[s];
      const std::string key = plan_key(p.name);
      for (int attempt = 0;; ++attempt) {
        const auto e = bucket_.get(key);
        if (!e) {
          // A bucket just created (by this worker or another) answers once its replicas
          // have elected a leader, a cluster being restarted once it is back: give it a
          // minute (Ctrl-C ends the wait).
          if (Clock::now() < start_ + std::chrono::seconds(60) && interrupts_.load() == 0) {
            if (!warned_ && Clock::now() > start_ + std::chrono::seconds(3)) {
              log::warn("cluster: the bucket '{}' does not answer yet; waiting for it",
                        bucket_.name());
              warned_ = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            --attempt;
            continue;
          }
          throw RuntimeError(fmt::format("--cluster {}: the bucket '{}' does not answer",
                                         client_.servers(), bucket_.name()));
        }
        if (!e->found) {
          const uint64_t seed = p.seed_given ? p.seed : random_seed();
          uint64_t rev = 0;
          const auto r =
              bucket_.create(key, fields_text(plan_fields(p, job_.section.shards, seed)), rev);
          if (r == Bucket::Cas::kDone) {
            p.seed = seed;
            p.seed_given = true;
            log::info("cluster: scan '{}' stored in bucket '{}' with seed {}", p.name,
                      bucket_.name(), seed);
            break;
          }
          if (attempt < 3) continue;  // another worker stored it first: check against it
          throw RuntimeError(fmt::format("--cluster: cannot store the plan of scan '{}'", p.name));
        }
        const Fields stored = parse_fields(e->value);
        const uint64_t stored_seed = std::stoull(stored.count("seed") ? stored.at("seed") : "0");
        if (p.seed_given && p.seed != stored_seed)
          throw UsageError(fmt::format(
              "{}scan '{}': bucket '{}' holds this campaign with seed {}, and this worker has "
              "seed {}: every worker of a campaign needs the same seed (or none)",
              place(s), p.name, bucket_.name(), stored_seed, p.seed));
        const Fields mine = plan_fields(p, job_.section.shards, stored_seed);
        for (const auto& [k, v] : mine) {
          const auto it = stored.find(k);
          const std::string theirs = it == stored.end() ? "(missing)" : it->second;
          if (theirs != v)
            throw UsageError(fmt::format(
                "{}scan '{}': bucket '{}' holds another plan for this scan ({} is {} there, {} "
                "here); use another bucket for another plan",
                place(s), p.name, bucket_.name(), k, theirs, v));
        }
        p.seed = stored_seed;
        p.seed_given = true;
        break;
      }
    }
  }

  std::string place(size_t s) const {
    return s < job_.places.size() && !job_.places[s].empty() ? job_.places[s] + ": " : "";
  }

  void add_results_stream() {
    for (auto& p : job_.plans) {
      OutputSpec o{OutputFormat::kNdjson, job_.servers + "/" + results_subject(bucket_.name()),
                   true};
      o.nats_replicas = job_.section.replicas;
      o.nats_wait = true;
      o.nats_creds = p.nats_creds;
      o.nats_ca = p.nats_ca;
      p.outputs.push_back(o);
    }
  }

  // Claims the unit if it is free, released, or silent for the TTL; the claim's revision.
  std::optional<uint64_t> claim(const Unit& u, const Bucket::Entry& e, const Fields& f) {
    Fields mine{{"owner", owner_},
                {"state", "running"},
                {"beat", "0"},
                {"time", fmt::format("{:.1f}", unix_time())}};
    uint64_t rev = 0;
    if (!e.found) {
      if (bucket_.create(u.claim, fields_text(mine), rev) == Bucket::Cas::kDone) {
        log::info("cluster: claimed {}", u.claim);
        return rev;
      }
      return std::nullopt;
    }
    const bool released = f.count("state") && f.at("state") == "free";
    const auto now = Clock::now();
    auto& seen = seen_[u.claim];
    if (seen.revision != e.revision) seen = {e.revision, now};
    if (!released && now - seen.since < ttl_) return std::nullopt;
    const std::string before = f.count("owner") ? f.at("owner") : "?";
    if (bucket_.update(u.claim, fields_text(mine), e.revision, rev) != Bucket::Cas::kDone)
      return std::nullopt;
    log::info("cluster: took over {} from {} ({})", u.claim, before,
              released ? "released"
                       : fmt::format("no heartbeat for {:.1f} s",
                                     std::chrono::duration<double>(now - seen.since).count()));
    return rev;
  }

  // Runs a claimed unit to its end; true after a Ctrl-C.
  bool run_unit(const Unit& u, uint64_t revision, const RunShard& run_shard) {
    ScanPlan plan = job_.plans[u.scan];
    const uint32_t shards = job_.section.shards;
    plan.shard_index = u.shard - 1;
    plan.shard_count = shards;
    for (auto& o : plan.outputs)
      if (!o.nats) o.path = with_shard(o.path, u.shard, shards);
    plan.summary_path = with_shard(plan.summary_path, u.shard, shards);
    const auto ck = bucket_.get(u.ckpt);
    if (ck && ck->found) {
      plan.resume_text = ck->value;
      plan.resume_path = fmt::format("{} in bucket '{}'", u.ckpt, bucket_.name());
      log::info("cluster: {}: resuming from its checkpoint", u.claim);
    } else if (!ck) {
      // Unknown: starting afresh would be correct too, but it could repeat a lot of work.
      log::warn("cluster: {}: the bucket did not answer for its checkpoint; starting it afresh",
                u.claim);
    }
    Fields base{{"owner", owner_},
                {"shard", fmt::format("{}/{}", u.shard, shards)},
                {"scan", bucket_scan_name(plan.name)}};
    ShardLease lease(bucket_, u.claim, u.ckpt, base, revision, job_.section.heartbeat_s);
    const bool interrupted = run_shard(plan, lease) && interrupts_.load() > 0;
    const bool lost = lease.lost();
    if (!lost) {
      if (lease.finish(interrupted ? "free" : "done", interrupts_))
        log::info("cluster: {} {}", u.claim, interrupted ? "released" : "done");
    }
    return interrupted;
  }

  ClusterJob job_;
  const Clock::time_point start_ = Clock::now();
  const std::atomic<int>& interrupts_;
  const std::string owner_;
  NatsClient client_;
  Bucket bucket_;
  const Clock::duration ttl_;
  std::vector<Unit> units_;
  struct Seen {
    uint64_t revision = 0;
    Clock::time_point since{};
  };
  std::map<std::string, Seen> seen_;
  bool warned_ = false;
};

}  // namespace

std::string results_subject(const std::string& bucket) {
  return "dpscan." + bucket + ".results";
}

int run_cluster_worker(ClusterJob job, const std::atomic<int>& interrupts,
                       const RunShard& run_shard) {
  if (job.plans.empty()) throw UsageError("--cluster: the campaign has no scans");
  const uint32_t shards = job.section.shards;
  for (size_t s = 0; s < job.plans.size(); ++s) {
    const ScanPlan& p = job.plans[s];
    const std::string at =
        s < job.places.size() && !job.places[s].empty() ? job.places[s] + ": " : "";
    if (p.shard_count != 1)
      throw UsageError(
          fmt::format("{}scan '{}': a cluster campaign splits the scan into its "
                      "'shards'; leave out 'shard'",
                      at, p.name));
    if (p.max_runtime_s > 0 || p.max_targets || p.max_targets_percent)
      throw UsageError(
          fmt::format("{}scan '{}': a cluster campaign runs every shard to its "
                      "end; leave out 'max-runtime' and 'max-targets'",
                      at, p.name));
    if (!p.checkpoint_path.empty() || !p.resume_path.empty())
      throw UsageError(
          fmt::format("{}scan '{}': a cluster campaign keeps its checkpoints in the "
                      "bucket; leave out 'checkpoint' and 'resume'",
                      at, p.name));
    for (const auto& o : p.outputs)
      if (!o.nats && o.path != "-" && shards > 1 && o.path.find("{shard}") == std::string::npos &&
          !not_a_file(o.path))
        throw UsageError(fmt::format(
            "{}scan '{}': output '{}' would be written by every shard: put {{shard}} in its "
            "name (or use -o - and the campaign's results stream)",
            at, p.name, o.path));
    if (!p.summary_path.empty() && shards > 1 &&
        p.summary_path.find("{shard}") == std::string::npos)
      throw UsageError(fmt::format(
          "{}scan '{}': summary '{}' would be written by every shard: put {{shard}} in its name",
          at, p.name, p.summary_path));
  }
  Worker w(std::move(job), interrupts);
  return w.run(run_shard);
}

}  // namespace dpscan

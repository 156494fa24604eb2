#include "worker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
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
#include "shard_lease.hpp"

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
        const std::optional<Claimed> c = claim(u, *e, f);
        if (!c) continue;
        ++ran;
        const bool interrupted = run_unit(u, *c, run_shard);
        // The time spent on its own shard was no watching of the others' claims.
        seen_.clear();
        if (interrupted) return 130;
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

  struct Claimed {
    uint64_t revision;
    Clock::time_point sent_at;  // when the claiming write was sent: the lease's fence counts
  };

  // Claims the unit if it is free, released, this worker's own (a shard it stopped sending
  // when it was cut off, and nobody took over), or silent for the TTL.
  std::optional<Claimed> claim(const Unit& u, const Bucket::Entry& e, const Fields& f) {
    Fields mine{{"owner", owner_},
                {"state", "running"},
                {"beat", "0"},
                {"time", fmt::format("{:.1f}", unix_time())}};
    uint64_t rev = 0;
    const auto sent_at = Clock::now();
    if (!e.found) {
      if (bucket_.create(u.claim, fields_text(mine), rev) == Bucket::Cas::kDone) {
        log::info("cluster: claimed {}", u.claim);
        return Claimed{rev, sent_at};
      }
      return std::nullopt;
    }
    const bool released = f.count("state") && f.at("state") == "free";
    const std::string before = f.count("owner") ? f.at("owner") : "?";
    const bool own = before == owner_;
    const auto now = Clock::now();
    auto& seen = seen_[u.claim];
    if (seen.revision != e.revision) seen = {e.revision, now};
    if (!released && !own && now - seen.since < ttl_) return std::nullopt;
    if (bucket_.update(u.claim, fields_text(mine), e.revision, rev) != Bucket::Cas::kDone)
      return std::nullopt;
    if (own)
      log::info("cluster: claimed {} again (this worker's own claim)", u.claim);
    else
      log::info("cluster: took over {} from {} ({})", u.claim, before,
                released ? "released"
                         : fmt::format("no heartbeat for {:.1f} s",
                                       std::chrono::duration<double>(now - seen.since).count()));
    return Claimed{rev, sent_at};
  }

  // The shard's checkpoint and its revision, read until the bucket answers (for a while);
  // nullopt when it does not. A checkpoint found is written again (compare-and-set, the same
  // text), so that a checkpoint write of the previous owner still on its way fails.
  std::optional<Bucket::Entry> read_checkpoint(const Unit& u) {
    const auto until = Clock::now() + ttl_ / 2;
    for (;;) {
      auto ck = bucket_.get(u.ckpt);
      if (ck && ck->found) {
        uint64_t rev = 0;
        Bucket::Entry seen;
        const auto r = bucket_.update(u.ckpt, ck->value, ck->revision, rev, &seen);
        if (r == Bucket::Cas::kDone) {
          ck->revision = rev;
        } else if (r == Bucket::Cas::kConflict) {
          continue;  // written meanwhile: read it again
        }
      }
      if (ck) return ck;
      if (Clock::now() >= until || interrupts_.load() > 0) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  // Runs a claimed unit to its end; true after a Ctrl-C.
  bool run_unit(const Unit& u, const Claimed& claimed, const RunShard& run_shard) {
    ScanPlan plan = job_.plans[u.scan];
    const uint32_t shards = job_.section.shards;
    plan.shard_index = u.shard - 1;
    plan.shard_count = shards;
    for (auto& o : plan.outputs)
      if (!o.nats) o.path = with_shard(o.path, u.shard, shards);
    plan.summary_path = with_shard(plan.summary_path, u.shard, shards);
    // Its revision is needed: every checkpoint is a compare-and-set on it. Without an answer
    // the claim is left as it is; this worker claims it again (its own) on a later pass.
    const auto ck = read_checkpoint(u);
    if (!ck) {
      log::warn("cluster: {}: the bucket did not answer for its checkpoint; trying later", u.claim);
      return interrupts_.load() > 0;
    }
    if (ck->found) {
      plan.resume_text = ck->value;
      plan.resume_path = fmt::format("{} in bucket '{}'", u.ckpt, bucket_.name());
      log::info("cluster: {}: resuming from its checkpoint", u.claim);
    }
    LeaseSetup setup;
    setup.claim = u.claim;
    setup.ckpt = u.ckpt;
    setup.owner = owner_;
    setup.base = {{"owner", owner_},
                  {"shard", fmt::format("{}/{}", u.shard, shards)},
                  {"scan", bucket_scan_name(plan.name)}};
    setup.claim_revision = claimed.revision;
    setup.ckpt_revision = ck->found ? ck->revision : 0;
    setup.claimed_at = claimed.sent_at;
    setup.heartbeat_s = job_.section.heartbeat_s;
    setup.claim_ttl_s = job_.section.claim_ttl_s;
    ShardLease lease(bucket_, std::move(setup));
    // A second Ctrl-C may come after the main loop ended (while the last checkpoint waits
    // for the stream): the shard is then not done, whatever the loop said.
    const bool interrupted =
        (run_shard(plan, lease) && interrupts_.load() > 0) || interrupts_.load() >= 2;
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

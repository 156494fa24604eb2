// A cluster campaign's JetStream key-value bucket (docs/cluster.md): its keys, what their
// values hold, and the three operations the claims are made of (get, create-if-absent,
// compare-and-set on the revision). Nothing here retries or waits longer than one request:
// the worker decides what a failure means.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nats_client.hpp"

namespace dpscan {

// Keys: plan.SCAN (the plan's identity), claim.SCAN.I (owner, state, progress; heartbeat),
// ckpt.SCAN.I (the shard's last settled checkpoint), worker.OWNER (each worker writes it
// while it watches: silence is counted only while its own writes work). I is 1-based, as
// in --shard I/N.
std::string bucket_scan_name(const std::string& scan);  // a scan name as a key token
std::string claim_key(const std::string& scan, uint32_t shard);
std::string checkpoint_key(const std::string& scan, uint32_t shard);
std::string plan_key(const std::string& scan);

// "k=v k=v ..." values (what `nats kv get` shows, and easy to read back).
using Fields = std::map<std::string, std::string>;
double unix_time();  // seconds since the epoch: heartbeat times in the values
std::string fields_text(const Fields& f);
Fields parse_fields(const std::string& text);

class Bucket {
 public:
  // Opens the bucket, creating it (file storage, `replicas` copies, history 1) if
  // `create`, trying for `retry_s` seconds; throws RuntimeError when it still fails, or
  // the bucket is missing and not to be created.
  Bucket(NatsClient& client, const std::string& name, int replicas, bool create, double retry_s);
  ~Bucket();
  Bucket(const Bucket&) = delete;
  Bucket& operator=(const Bucket&) = delete;

  struct Entry {
    bool found = false;
    std::string value;
    uint64_t revision = 0;
  };
  // nullopt: no answer (the server is away or slow).
  std::optional<Entry> get(const std::string& key);
  enum class Cas { kDone, kConflict, kNoAnswer };
  // Create: only if the key has no value; update: only if its revision is still `last`.
  // `revision` receives the new one. A write whose acknowledgement was lost reads back as
  // kDone when the value now there is exactly ours, and one that did not happen (the old
  // value or revision still there) as kNoAnswer; only another value is kConflict, and
  // `seen` (if given) then receives the entry read back, for the caller to judge: a value
  // this worker wrote earlier, applied late after a reconnect, is not another writer's.
  Cas create(const std::string& key, const std::string& value, uint64_t& revision,
             Entry* seen = nullptr);
  Cas update(const std::string& key, const std::string& value, uint64_t last, uint64_t& revision,
             Entry* seen = nullptr);
  bool put(const std::string& key, const std::string& value);
  bool erase(const std::string& key);
  std::optional<std::vector<std::string>> keys();  // nullopt: no answer
  const std::string& name() const { return name_; }

 private:
  Cas settle(const std::string& key, const std::string& value, uint64_t last, uint64_t& revision,
             Entry* seen);
  kvStore* kv_ = nullptr;
  std::string name_;
};

}  // namespace dpscan

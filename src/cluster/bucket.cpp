#include "bucket.hpp"

#include <cctype>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {

std::string bucket_scan_name(const std::string& scan) {
  std::string s;
  for (char ch : scan)
    s += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '_';
  return s.empty() ? "_" : s;
}

std::string claim_key(const std::string& scan, uint32_t shard) {
  return fmt::format("claim.{}.{}", bucket_scan_name(scan), shard);
}
std::string checkpoint_key(const std::string& scan, uint32_t shard) {
  return fmt::format("ckpt.{}.{}", bucket_scan_name(scan), shard);
}
std::string plan_key(const std::string& scan) {
  return "plan." + bucket_scan_name(scan);
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string fields_text(const Fields& f) {
  std::string s;
  for (const auto& [k, v] : f) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

Fields parse_fields(const std::string& text) {
  Fields f;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t end = std::min(text.find(' ', i), text.size());
    const std::string word = text.substr(i, end - i);
    const size_t eq = word.find('=');
    if (eq != std::string::npos) f[word.substr(0, eq)] = word.substr(eq + 1);
    i = end;
  }
  return f;
}

Bucket::Bucket(NatsClient& client, const std::string& name, int replicas, bool create,
               double retry_s)
    : name_(name) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(retry_s);
  natsStatus s = NATS_OK;
  for (;;) {
    s = js_KeyValue(&kv_, client.js(), name.c_str());
    if (s == NATS_NOT_FOUND && create) {
      kvConfig cfg;
      kvConfig_Init(&cfg);
      cfg.Bucket = name.c_str();
      cfg.History = 1;
      cfg.Replicas = replicas;
      cfg.StorageType = js_FileStorage;
      s = js_CreateKeyValue(&kv_, client.js(), &cfg);
      if (s != NATS_OK) s = js_KeyValue(&kv_, client.js(), name.c_str());  // another's, at once
    }
    // A bucket being created by another worker, a cluster electing leaders: wait a while.
    if (s == NATS_OK || (s == NATS_NOT_FOUND && !create) ||
        std::chrono::steady_clock::now() >= until)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (s == NATS_NOT_FOUND)
    throw RuntimeError(
        fmt::format("{}: no campaign bucket '{}' (no worker has run this campaign yet?)",
                    client.servers(), name));
  if (s != NATS_OK)
    throw RuntimeError(fmt::format("{}: cannot open the key-value bucket '{}': {}",
                                   client.servers(), name, nats_error(s)));
}

Bucket::~Bucket() {
  kvStore_Destroy(kv_);
}

std::optional<Bucket::Entry> Bucket::get(const std::string& key) {
  kvEntry* e = nullptr;
  const natsStatus s = kvStore_Get(&e, kv_, key.c_str());
  if (s == NATS_NOT_FOUND) return Entry{};
  if (s != NATS_OK) return std::nullopt;
  Entry out{true,
            std::string(static_cast<const char*>(kvEntry_Value(e)),
                        static_cast<size_t>(kvEntry_ValueLen(e))),
            kvEntry_Revision(e)};
  kvEntry_Destroy(e);
  return out;
}

// A write that failed may still have been stored (its acknowledgement lost), or not have
// happened at all (no leader, a timeout): the value read back says which. Only another
// writer's value is a conflict; the old value still there is no answer (try again).
Bucket::Cas Bucket::settle(const std::string& key, const std::string& value, uint64_t last,
                           uint64_t& revision, Entry* seen) {
  const auto e = get(key);
  if (!e) return Cas::kNoAnswer;
  if (e->found && e->value == value) {  // ours
    revision = e->revision;
    return Cas::kDone;
  }
  if (last == 0 ? !e->found : (e->found && e->revision == last)) return Cas::kNoAnswer;
  if (seen) *seen = *e;
  return Cas::kConflict;
}

Bucket::Cas Bucket::create(const std::string& key, const std::string& value, uint64_t& revision,
                           Entry* seen) {
  const natsStatus s =
      kvStore_Create(&revision, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  return s == NATS_OK ? Cas::kDone : settle(key, value, 0, revision, seen);
}

Bucket::Cas Bucket::update(const std::string& key, const std::string& value, uint64_t last,
                           uint64_t& revision, Entry* seen) {
  const natsStatus s = kvStore_Update(&revision, kv_, key.c_str(), value.data(),
                                      static_cast<int>(value.size()), last);
  return s == NATS_OK ? Cas::kDone : settle(key, value, last, revision, seen);
}

bool Bucket::erase(const std::string& key) {
  return kvStore_Delete(kv_, key.c_str()) == NATS_OK;
}

bool Bucket::put(const std::string& key, const std::string& value) {
  uint64_t rev = 0;
  return kvStore_Put(&rev, kv_, key.c_str(), value.data(), static_cast<int>(value.size())) ==
         NATS_OK;
}

std::optional<std::vector<std::string>> Bucket::keys() {
  kvKeysList list{};
  const natsStatus s = kvStore_Keys(&list, kv_, nullptr);
  if (s == NATS_NOT_FOUND) return std::vector<std::string>{};
  if (s != NATS_OK) return std::nullopt;
  std::vector<std::string> out(list.Keys, list.Keys + list.Count);
  kvKeysList_Destroy(&list);
  return out;
}

}  // namespace dpscan

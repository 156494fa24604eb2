#include "dpscan/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/ipv6_targets.hpp"

namespace dpscan {
namespace {

constexpr SipKey kFileKey{0x64707363616e2d63ULL,
                          0x6865636b706f696eULL};  // fixed: integrity, not secrecy
constexpr const char* kMagic = "dpscan-checkpoint 1";

uint64_t hash_text(const std::string& s) {
  return siphash24(kFileKey, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

uint64_t ipv4_identity(const IpSet& addresses) {
  std::string b;
  auto put = [&b](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(addresses.intervals().size());
  for (const auto& iv : addresses.intervals())
    put(uint64_t{iv.first.value()} << 32 | iv.last.value());
  return hash_text(b);
}

uint64_t targets_identity(const ScanPlan& plan) {
  if (plan.family == Family::kIpv4) return ipv4_identity(plan.addresses);
  return Ipv6Targets(*plan.targets6).identity();
}

uint64_t plan_identity(const ScanPlan& plan, uint64_t targets_id, uint64_t seed,
                       const SipKey& key) {
  std::string b;
  auto put = [&b](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<uint64_t>(plan.family));
  put(targets_id);
  put(static_cast<uint64_t>(plan.probe));
  put(probe_identity(plan));
  const std::vector<uint16_t> slots = probe_slots(plan);
  put(slots.size());
  for (uint16_t p : slots) put(p);
  put(seed);
  put(key.k0);
  put(key.k1);
  put(plan.shard_index);
  put(plan.shard_count);
  put(plan.tx_lcores);
  put(plan.retries);
  return siphash24(kFileKey, reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

std::string checkpoint_text(const Checkpoint& c) {
  std::string body =
      fmt::format("{}\nplan {:016x}\nseed {}\nkey {:016x} {:016x}\ncookie {}\nlcores {}\n", kMagic,
                  c.plan_hash, c.seed, c.key.k0, c.key.k1, to_string(c.cookie), c.positions.size());
  for (size_t i = 0; i < c.positions.size(); ++i)
    body += fmt::format("lcore {} {} {}\n", i, c.positions[i], c.sent[i]);
  body += fmt::format("check {:016x}\n", hash_text(body));
  return body;
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string body = checkpoint_text(c);
  const std::string tmp = path + ".tmp";
  // The checkpoint holds the cookie key: the owner's alone (0600), also when an earlier
  // temporary file was left with another mode; rename() keeps the mode.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw RuntimeError(fmt::format("cannot write checkpoint '{}': {}", tmp, std::strerror(err)));
  }
  const char* p = body.data();
  size_t left = body.size();
  while (left) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw RuntimeError(fmt::format("cannot write checkpoint '{}': {}", tmp, std::strerror(err)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    throw RuntimeError(fmt::format("cannot write checkpoint '{}': {}", path, std::strerror(errno)));
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("cannot read checkpoint '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_checkpoint(ss.str(), path);
}

Checkpoint parse_checkpoint(const std::string& text, const std::string& path) {
  auto corrupt = [&](const char* why) {
    return UsageError(
        fmt::format("checkpoint '{}' is corrupt or not a dpscan checkpoint ({})", path, why));
  };
  const size_t check_at = text.rfind("check ");
  if (text.rfind(kMagic, 0) != 0 || check_at == std::string::npos) throw corrupt("bad format");
  const std::string body = text.substr(0, check_at);
  // The last line must be exactly "check <16 lowercase hex digits>\n", as written.
  if (text.compare(check_at, std::string::npos, fmt::format("check {:016x}\n", hash_text(body))) !=
      0) {
    throw corrupt("integrity check failed");
  }
  Checkpoint c;
  std::istringstream lines(body);
  std::string line;
  size_t lcores = 0;
  std::getline(lines, line);  // magic
  while (std::getline(lines, line)) {
    std::istringstream l(line);
    std::string word;
    l >> word;
    if (word == "plan")
      l >> std::hex >> c.plan_hash;
    else if (word == "seed")
      l >> c.seed;
    else if (word == "key")
      l >> std::hex >> c.key.k0 >> c.key.k1;
    else if (word == "lcores")
      l >> lcores;
    else if (word == "cookie") {
      std::string name;
      l >> name;
      if (name == "aes")
        c.cookie = CookieAlgo::kAes;
      else if (name == "siphash")
        c.cookie = CookieAlgo::kSipHash;
      else
        throw corrupt("unknown cookie PRF");
    } else if (word == "lcore") {
      size_t i;
      uint64_t pos, sent;
      l >> i >> pos >> sent;
      if (i != c.positions.size()) throw corrupt("lcores out of order");
      c.positions.push_back(pos);
      c.sent.push_back(sent);
    } else {
      throw corrupt("unknown line");
    }
    if (l.fail()) throw corrupt("malformed line");
  }
  if (c.positions.size() != lcores || lcores == 0) throw corrupt("lcore count");
  return c;
}

}  // namespace dpscan

// A cluster shard's lease (src/cluster/shard_lease.hpp) against a real nats-server (Debian's,
// started here on 127.0.0.1 and stopped here; the test says so and checks nothing when it is
// not installed). Another worker's writes are made here through a Bucket of its own:
// - a heartbeat of this worker applied late (the claim's revision moved, the owner is this
//   worker) is this worker's, and the lease goes on;
// - another owner's value makes the lease lost;
// - the checkpoint key is written by compare-and-set: another worker's checkpoint is never
//   overwritten, and the lease is lost;
// - with the server frozen (SIGSTOP), the lease fences itself: lost() while nothing answers.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "cluster/bucket.hpp"
#include "cluster/nats_client.hpp"
#include "cluster/shard_lease.hpp"
#include "dpscan/checkpoint.hpp"
#include "nats_server.hpp"

extern char** environ;

using namespace dpscan;

namespace {

const std::string kMe = "me/1/0001", kOther = "other/2/0002";

LeaseSetup setup_for(uint64_t claim_rev, uint64_t ckpt_rev, double ttl) {
  LeaseSetup s;
  s.claim = "claim.t.1";
  s.ckpt = "ckpt.t.1";
  s.owner = kMe;
  s.base = {{"owner", kMe}, {"shard", "1/1"}, {"scan", "t"}};
  s.claim_revision = claim_rev;
  s.ckpt_revision = ckpt_rev;
  s.claimed_at = std::chrono::steady_clock::now();
  s.heartbeat_s = 0.05;
  s.claim_ttl_s = ttl;
  return s;
}

Checkpoint some_checkpoint(uint64_t position) {
  Checkpoint c;
  c.positions = {position};
  c.sent = {position};
  return c;
}

}  // namespace

TEST_CASE("shard lease: late writes of its own, other owners, checkpoints, fencing") {
  Server srv;  // nats_main.cc skips the program (exit 77) without a nats-server
  NatsClient mine(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
  NatsClient theirs(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
  Bucket bucket(mine, "leasetest", 1, true, 10);
  Bucket other(theirs, "leasetest", 1, false, 10);
  const std::atomic<int> no_interrupt{0};
  const auto value = [&](const std::string& key) {
    const auto e = other.get(key);
    REQUIRE(e);
    return e->found ? e->value : std::string("(none)");
  };

  SUBCASE("a heartbeat of this worker applied late is its own") {
    uint64_t r0 = 0, r1 = 0;
    REQUIRE(other.create("claim.t.1", "owner=" + kMe + " state=running beat=0", r0) ==
            Bucket::Cas::kDone);
    // Our write whose answer was lost, stored after a reconnect: the lease still has r0.
    REQUIRE(other.update("claim.t.1", "owner=" + kMe + " state=running beat=7", r0, r1) ==
            Bucket::Cas::kDone);
    ShardLease lease(bucket, setup_for(r0, 0, 30));
    CHECK(within(std::chrono::seconds(10),
                 [&] { return value("claim.t.1").find("sent=") != std::string::npos; }));
    CHECK_FALSE(lease.lost());
    CHECK(lease.finish("done", no_interrupt));
    CHECK(value("claim.t.1").find("state=done") != std::string::npos);
  }

  SUBCASE("another owner's value: the lease is lost") {
    uint64_t r0 = 0, r1 = 0;
    REQUIRE(other.create("claim.t.1", "owner=" + kMe + " state=running beat=0", r0) ==
            Bucket::Cas::kDone);
    ShardLease lease(bucket, setup_for(r0, 0, 30));
    // Another worker takes the claim (compare-and-set on what it read).
    bool taken = false;
    for (int i = 0; i < 50 && !taken; ++i) {
      const auto e = other.get("claim.t.1");
      taken = e && e->found &&
              other.update("claim.t.1", "owner=" + kOther + " state=running beat=0", e->revision,
                           r1) == Bucket::Cas::kDone;
    }
    REQUIRE(taken);
    CHECK(within(std::chrono::seconds(10), [&] { return lease.lost(); }));
    CHECK_FALSE(lease.finish("done", no_interrupt));
    CHECK(value("claim.t.1").find("owner=" + kOther) != std::string::npos);
  }

  SUBCASE("the checkpoint is written by compare-and-set") {
    uint64_t r0 = 0, c0 = 0;
    REQUIRE(other.create("claim.t.1", "owner=" + kMe + " state=running beat=0", r0) ==
            Bucket::Cas::kDone);
    const std::string first = checkpoint_text(some_checkpoint(1));
    REQUIRE(other.create("ckpt.t.1", first, c0) == Bucket::Cas::kDone);
    ShardLease lease(bucket, setup_for(r0, c0, 30));
    lease.checkpoint(some_checkpoint(2));
    CHECK(within(std::chrono::seconds(10),
                 [&] { return value("ckpt.t.1") == checkpoint_text(some_checkpoint(2)); }));
    // Another worker's checkpoint (it took the shard over): never overwritten.
    const std::string theirs_text = checkpoint_text(some_checkpoint(3));
    REQUIRE(other.put("ckpt.t.1", theirs_text));
    lease.checkpoint(some_checkpoint(4));
    CHECK(within(std::chrono::seconds(10), [&] { return lease.lost(); }));
    CHECK(value("ckpt.t.1") == theirs_text);
  }

  SUBCASE("fencing: nothing answers, the lease stops") {
    uint64_t r0 = 0;
    REQUIRE(other.create("claim.t.1", "owner=" + kMe + " state=running beat=0", r0) ==
            Bucket::Cas::kDone);
    ShardLease lease(bucket, setup_for(r0, 0, 2));  // fenced after 1.5 s without a heartbeat
    CHECK(within(std::chrono::seconds(10),
                 [&] { return value("claim.t.1").find("sent=") != std::string::npos; }));
    CHECK_FALSE(lease.lost());
    REQUIRE(::kill(srv.pid, SIGSTOP) == 0);
    CHECK(within(std::chrono::seconds(20), [&] { return lease.lost(); }));
    REQUIRE(::kill(srv.pid, SIGCONT) == 0);
    // Fenced stays fenced: the shard was stopped.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(lease.lost());
  }
}

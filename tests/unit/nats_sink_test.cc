// The JetStream sink against a real nats-server (Debian's, started here on 127.0.0.1 with a
// store directory of its own, and stopped here; without it the program exits 77, a skip,
// nats_main.cc): what a
// checkpoint may claim. A cluster shard's sink (nats_wait) settles a batch only once the
// stream has acknowledged it; a plain output's once it is acknowledged or fsynced in the
// spool. The server is frozen (SIGSTOP) to make batches go to the spool, then thawed: the
// spool is replayed and every batch is in the stream exactly once.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "cluster/nats_client.hpp"
#include "dpscan/output.hpp"
#include "nats_server.hpp"
#include "nats_stream.hpp"
#include "output/nats_spool.hpp"

extern char** environ;

using namespace dpscan;

namespace {

// A number in a report_json() text, or -1.
long field(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size() + 3));
}

std::unique_ptr<Sink> nats_sink(const std::string& url, const std::filesystem::path& spool,
                                bool wait = false) {
  ::setenv("DPSCAN_NATS_SPOOL", spool.c_str(), 1);
  OutputSpec spec{OutputFormat::kNdjson, url, true};
  spec.nats_wait = wait;
  auto sink = make_sink(spec);
  ::unsetenv("DPSCAN_NATS_SPOOL");
  return sink;
}

uint64_t stream_msgs(const Server& srv, const char* stream) {
  NatsClient client(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
  return stream_state(client, stream).msgs;
}

// The run's error, as flush() throws it ("" when it does not).
std::string flush_error(Sink& sink) {
  try {
    sink.flush();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("JetStream sink: what a checkpoint may claim, spool and replay") {
  Server srv;
  const std::string url = srv.url("unit.sink");
  const auto make = [&](bool wait, const char* spool) {
    ::setenv("DPSCAN_NATS_SPOOL", (srv.dir / spool).c_str(), 1);
    OutputSpec spec{OutputFormat::kNdjson, url, true};
    spec.nats_wait = wait;
    return make_sink(spec);
  };
  auto shard = make(true, "shard.spool");   // a cluster shard's sink
  auto plain = make(false, "plain.spool");  // --output-spec nats:
  ::unsetenv("DPSCAN_NATS_SPOOL");

  shard->write("{\"ip\":\"198.18.0.1\",\"port\":80}\n");
  plain->write("{\"ip\":\"198.18.0.2\",\"port\":80}\n");
  const uint64_t s1 = shard->mark(), p1 = plain->mark();
  CHECK(within(std::chrono::seconds(5), [&] { return shard->settled(s1) && plain->settled(p1); }));

  REQUIRE(::kill(srv.pid, SIGSTOP) == 0);  // the server stops answering
  shard->write("{\"ip\":\"198.18.0.3\",\"port\":80}\n");
  plain->write("{\"ip\":\"198.18.0.4\",\"port\":80}\n");
  const uint64_t s2 = shard->mark(), p2 = plain->mark();
  // Not acknowledged within a second: spooled. Enough for the plain output's checkpoint, not
  // for the shard's (another machine would resume from it without this spool).
  CHECK(within(std::chrono::seconds(5), [&] { return plain->settled(p2); }));
  CHECK(within(std::chrono::seconds(5),
               [&] { return field(shard->report_json(), "in_spool") == 1; }));
  CHECK_FALSE(shard->settled(s2));

  REQUIRE(::kill(srv.pid, SIGCONT) == 0);  // back: the spools are replayed
  CHECK(within(std::chrono::seconds(15), [&] { return shard->settled(s2); }));
  shard->close();
  plain->close();
  CHECK(shard->report_json().find("\"in_spool\":0") != std::string::npos);
  CHECK(plain->report_json().find("\"in_spool\":0") != std::string::npos);

  // Four batches written, four stored: a batch spooled after its publication timed out is
  // replayed with the same message id, and the stream keeps it once.
  NatsClient client(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  REQUIRE(js_GetStreamInfo(&si, client.js(), "DPSCAN_unit_sink", nullptr, &jerr) == NATS_OK);
  CHECK(si->State.Msgs == 4);
  // `stored` counts what the stream took on a publication, `duplicates` what it already had
  // (a publication that timed out while frozen, stored once thawed): never one batch twice.
  const auto both = [&](const char* key) {
    return field(shard->report_json(), key) + field(plain->report_json(), key);
  };
  MESSAGE(shard->report_json());
  CHECK(both("stored") + both("duplicates") == 4);
  jsStreamInfo_Destroy(si);
}

// Refusals that waiting does not mend end the run with the server's text instead of spooling
// for ever (the batches stay in the spool).
TEST_CASE("JetStream sink: permanent refusals end the run with the server's text") {
  Server srv(
      "max_payload: 4096\n"
      "authorization { users: [ {user: u, password: p, permissions: {publish: {deny: "
      "[\"unit.denied\"]}}} ] }");
  const std::string base = "nats://u:p@127.0.0.1:" + std::to_string(srv.port) + "/";
  const std::string batch = "{\"ip\":\"198.18.0.1\",\"port\":80}\n";

  SUBCASE("a batch over max_payload") {
    auto sink = nats_sink(base + "unit.big", srv.dir / "big.spool");
    sink->write(std::string(5000, 'x') + "\n");
    const std::string err = flush_error(*sink);
    MESSAGE(err);
    CHECK(err.find("max_payload (4096 bytes)") != std::string::npos);
    CHECK(field(sink->report_json(), "in_spool") == 1);  // kept for a run that can send it
  }
  SUBCASE("a subject the user may not publish to") {
    auto sink = nats_sink(base + "unit.denied", srv.dir / "denied.spool");
    sink->write(batch);
    const std::string err = flush_error(*sink);
    MESSAGE(err);
    CHECK(err.find("Permissions Violation for Publish to \"unit.denied\"") != std::string::npos);
  }
  SUBCASE("a.b and a_b: one stream name") {
    auto first = nats_sink(base + "unit.a_b", srv.dir / "ab1.spool");
    first->write(batch);
    first->close();
    std::string err;
    try {
      nats_sink(base + "unit.a.b", srv.dir / "ab2.spool");
    } catch (const std::exception& e) {
      err = e.what();
    }
    MESSAGE(err);
    CHECK(err.find("DPSCAN_unit_a_b") != std::string::npos);
    CHECK(err.find("takes the subjects 'unit.a_b', not 'unit.a.b'") != std::string::npos);
  }
}

// A stream that stops acknowledging (reconfigured no_ack while the sink runs): the window
// shrinks to one batch, the deadline doubles, and then the sink gives up instead of spooling
// and replaying for ever.
TEST_CASE("JetStream sink: a batch that is never acknowledged ends the run") {
  Server srv;
  auto sink = nats_sink(srv.url("unit.noack"), srv.dir / "noack.spool", true);
  sink->write("{\"ip\":\"198.18.0.1\",\"port\":80}\n");
  REQUIRE(flush_error(*sink).empty());
  {
    NatsClient client(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
    set_no_ack(client, "DPSCAN_unit_noack", true);
  }
  sink->write("{\"ip\":\"198.18.0.2\",\"port\":80}\n");
  const std::string err = flush_error(*sink);  // returns: the sink failed
  MESSAGE(err);
  CHECK(err.find("no_ack") != std::string::npos);
  CHECK(field(sink->report_json(), "ack_timeouts") >= 4);
  CHECK(field(sink->report_json(), "in_spool") == 1);
}

// The spool: keyed by server and subject, records with checksums, replayed from where the
// last run stopped; duplicates are counted apart from what was stored.
TEST_CASE("JetStream sink: the spool's checksums, key, position and duplicates") {
  Server srv;
  const std::string url = srv.url("unit.spool");
  const std::filesystem::path path = srv.dir / "s.spool";
  // A first run stores two batches: their message ids are what a replay may send again.
  std::vector<std::string> ids;
  {
    auto sink = nats_sink(url, srv.dir / "first.spool");
    sink->write("{\"ip\":\"198.18.0.1\",\"port\":80}\n");
    sink->write("{\"ip\":\"198.18.0.2\",\"port\":80}\n");
    sink->close();
    NatsClient client(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
    for (uint64_t seq = 1; seq <= 2; ++seq) {
      natsMsg* m = nullptr;
      REQUIRE(js_GetMsg(&m, client.js(), "DPSCAN_unit_spool", seq, nullptr, nullptr) == NATS_OK);
      const char* id = nullptr;
      REQUIRE(natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK);
      ids.push_back(id);
      natsMsg_Destroy(m);
    }
  }
  const std::string key = masked_servers(parse_nats_url(srv.url(), "test")) + " unit.spool";
  const uint64_t old_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()) -
      uint64_t{600} * 1000000000;  // 10 minutes ago: outside the 2-minute duplicate window
  {
    // A spool a crashed run left: the two stored batches (their acknowledgements lost, spooled
    // 10 minutes ago), three new ones, of which the second gets corrupted below.
    NatsSpool spool(path.string(), key, "test");
    std::vector<SpoolRecord> recs = {{ids[0], "{\"ip\":\"198.18.0.1\",\"port\":80}\n", old_ns},
                                     {ids[1], "{\"ip\":\"198.18.0.2\",\"port\":80}\n", old_ns},
                                     {"crashed-1", "{\"ip\":\"198.18.0.3\",\"port\":80}\n", 0},
                                     {"crashed-2", "{\"ip\":\"198.18.0.4\",\"port\":80}\n", 0},
                                     {"crashed-3", "{\"ip\":\"198.18.0.5\",\"port\":80}\n", 0}};
    std::vector<const SpoolRecord*> ptrs;
    for (const auto& r : recs) ptrs.push_back(&r);
    spool.append(ptrs);
  }
  {
    // A spool is never replayed to another server or subject.
    std::string err;
    try {
      nats_sink(srv.url("unit.other"), path);
    } catch (const std::exception& e) {
      err = e.what();
    }
    MESSAGE(err);
    CHECK(err.find("holds batches for") != std::string::npos);
  }
  std::string bytes;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f);
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
    std::fclose(f);
  }
  const size_t corrupt_at = bytes.find("198.18.0.4");
  REQUIRE(corrupt_at != std::string::npos);
  {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f);
    std::fseek(f, static_cast<long>(corrupt_at), SEEK_SET);
    std::fputc('X', f);  // 198.18.0.4 -> X98.18.0.4
    std::fclose(f);
  }
  auto sink = nats_sink(url, path);
  sink->close();
  const std::string report = sink->report_json();
  MESSAGE(report);
  CHECK(field(report, "replayed") == 4);    // the corrupt one is not replayed ...
  CHECK(field(report, "dropped") == 1);     // ... but counted, and kept aside
  CHECK(field(report, "stored") == 2);      // crashed-1 and crashed-3
  CHECK(field(report, "duplicates") == 2);  // the two the stream had already
  CHECK(field(report, "replayed_after_dup_window") == 2);
  CHECK(field(report, "in_spool") == 0);
  CHECK(std::filesystem::file_size(path.string() + ".bad") > 0);
  CHECK(stream_msgs(srv, "DPSCAN_unit_spool") == 4);
}

// The queue is bounded: with the server frozen, 1,000 batches written at once go to the spool
// (write() moves a full queue there), not to memory. A run killed (SIGKILL) while it replays
// that spool leaves its replay position in it: the next run replays the rest, not all of it.
TEST_CASE("JetStream sink: a full queue goes to the spool; the replay position survives kill -9") {
  Server srv;
  const std::string url = srv.url("unit.crash");
  const std::filesystem::path path = srv.dir / "c.spool";
  constexpr int kBatches = 1000;
  {
    auto sink = nats_sink(url, path);
    REQUIRE(::kill(srv.pid, SIGSTOP) == 0);
    for (int i = 0; i < kBatches; ++i)
      sink->write("{\"ip\":\"198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256) +
                  "\",\"port\":80}\n");
    const uint64_t t = sink->mark();
    CHECK(within(std::chrono::seconds(30), [&] { return sink->settled(t); }));  // all spooled
    const std::string report = sink->report_json();
    MESSAGE(report);
    CHECK(field(report, "queue_overflows") >= 1);
    CHECK(field(report, "in_spool") == kBatches);
    sink.reset();  // still frozen: the spool is left as a crashed run would leave it
  }
  REQUIRE(::kill(srv.pid, SIGCONT) == 0);
  // The header's replay position (a u64 at offset 8) and the file's size, as a reader sees them.
  const auto position = [&] {
    uint64_t pos = 0;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return std::pair<uint64_t, uint64_t>{0, 0};
    std::fseek(f, 8, SEEK_SET);
    if (std::fread(&pos, 8, 1, f) != 1) pos = 0;
    std::fseek(f, 0, SEEK_END);
    const auto size = static_cast<uint64_t>(std::ftell(f));
    std::fclose(f);
    return std::pair<uint64_t, uint64_t>{pos, size};
  };
  const uint64_t start = position().first;
  // A child replays it (16 windows of 64, each position fsynced); it is stopped (SIGSTOP) as
  // soon as its position has moved, then killed. Should it have finished first, the test says
  // so and checks no more.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto sink = nats_sink(url, path);
    for (;;) ::pause();
  }
  std::pair<uint64_t, uint64_t> seen{start, 0};
  within(std::chrono::seconds(30), [&] {
    seen = position();
    return seen.first != start;
  });
  ::kill(child, SIGSTOP);
  seen = position();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  MESSAGE("replay position " << seen.first << " of " << seen.second << " bytes (start " << start
                             << ")");
  REQUIRE(seen.first > start);
  if (seen.first >= seen.second) {
    MESSAGE("the child replayed everything before it was stopped: nothing left to check");
    return;
  }
  auto sink = nats_sink(url, path);
  sink->close();
  const std::string report = sink->report_json();
  MESSAGE(report);
  CHECK(field(report, "replayed") > 0);
  CHECK(field(report, "replayed") < kBatches);  // the rest only, not a full republish
  CHECK(field(report, "in_spool") == 0);
  CHECK(stream_msgs(srv, "DPSCAN_unit_crash") == kBatches);
}

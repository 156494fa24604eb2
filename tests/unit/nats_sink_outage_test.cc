// The JetStream sink through a real outage longer than the stream's duplicate window
// (docs/cluster.md, "What the sink guarantees"): the stream is made beforehand with a 1 s
// duplicate window, the nats-server (started here, nats_server.hpp) is frozen (SIGSTOP) for
// 5 s while batches are written, then thawed. Just before the outage one batch's
// acknowledgement is lost for real: the stream is switched to no_ack while it is stored,
// and back. What must hold on any load: every batch is in the stream (read back message by
// message), none is lost, the spool is empty, replays of batches spooled longer ago than the
// window are counted (`replayed_after_dup_window`), a batch stored twice is one of those, and
// `dpscan collect` writes each pair once.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/commands.hpp"
#include "cluster/nats_client.hpp"
#include "dpscan/output.hpp"
#include "nats_server.hpp"
#include "nats_stream.hpp"

using namespace dpscan;

namespace {

// A number in a report_json() text, or -1.
long field(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size() + 3));
}

// The campaign "outage": the subject a cluster shard publishes to, and its stream.
constexpr const char* kSubject = "dpscan.outage.results";
constexpr const char* kStream = "DPSCAN_dpscan_outage_results";

// A batch of two records, its own addresses: 198.18.B.1 and 198.18.B.2, port 80.
std::string batch(int b) {
  std::string out;
  for (int h = 1; h <= 2; ++h)
    out += "{\"ip\":\"198.18." + std::to_string(b) + "." + std::to_string(h) + "\",\"port\":80}\n";
  return out;
}

}  // namespace

TEST_CASE("JetStream sink: an outage longer than the duplicate window loses nothing") {
  Server srv;
  NatsClient client(parse_nats_url(srv.url(), "test"), NatsAuth{}, "test");
  {
    // The stream, made before the sink: a 1 s duplicate window, which the sink reads from it.
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {kSubject};
    cfg.Name = kStream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = int64_t{1000000000};
    jsStreamInfo* si = nullptr;
    jsErrCode jerr{};
    REQUIRE(js_AddStream(&si, client.js(), &cfg, nullptr, &jerr) == NATS_OK);
    jsStreamInfo_Destroy(si);
  }
  ::setenv("DPSCAN_NATS_SPOOL", (srv.dir / "outage.spool").c_str(), 1);
  OutputSpec spec{OutputFormat::kNdjson, srv.url(kSubject), true};
  spec.nats_wait = true;  // a cluster shard's sink: settled once the stream acknowledged
  auto sink = make_sink(spec);
  ::unsetenv("DPSCAN_NATS_SPOOL");
  CHECK(field(sink->report_json(), "dup_window_s") == 1);

  int written = 0;
  for (; written < 3; ++written) sink->write(batch(written));
  const uint64_t before = sink->mark();
  REQUIRE(within(std::chrono::seconds(30), [&] { return sink->settled(before); }));

  // A batch stored whose acknowledgement is lost (no_ack while it is stored), then the
  // outage at once: the sink spools it when its acknowledgement is late (1 s), and replays it
  // after the outage, when the stream no longer knows its message id. Should the sink have
  // replayed it before the server is frozen (a busy machine), it is a duplicate instead.
  set_no_ack(client, kStream, true);
  sink->write(batch(written++));
  REQUIRE(
      within(std::chrono::seconds(30), [&] { return stream_state(client, kStream).msgs == 4; }));
  set_no_ack(client, kStream, false);
  // The outage: 5 s, five times the window, a batch written every half second.
  const auto stopped = std::chrono::steady_clock::now();
  REQUIRE(::kill(srv.pid, SIGSTOP) == 0);
  for (int i = 0; i < 10; ++i, ++written) {
    sink->write(batch(written));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const double outage_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  const long spooled_in_outage = field(sink->report_json(), "spooled");
  REQUIRE(::kill(srv.pid, SIGCONT) == 0);
  for (int i = 0; i < 3; ++i, ++written) sink->write(batch(written));  // after it
  const uint64_t all = sink->mark();
  CHECK(within(std::chrono::seconds(120), [&] { return sink->settled(all); }));
  sink->close();
  const std::string report = sink->report_json();
  MESSAGE("outage " << outage_s << " s, " << spooled_in_outage << " batches spooled during it");
  MESSAGE(report);

  // Without spooling the outage tested nothing of what this case claims.
  REQUIRE_MESSAGE(field(report, "spooled") > 0, "the outage sent nothing to the spool");
  CHECK(field(report, "batches") == written);
  CHECK(field(report, "in_spool") == 0);
  CHECK(field(report, "dropped") == 0);
  CHECK(field(report, "replayed") == field(report, "spooled"));
  // Each batch's last publication was acknowledged (stored or duplicate), and some replays
  // were of batches spooled longer ago than the window (the outage was 5 times as long).
  CHECK(field(report, "stored") + field(report, "duplicates") >= written);
  CHECK(field(report, "replayed_after_dup_window") > 0);
  CHECK(field(report, "replayed_after_dup_window") <= field(report, "replayed"));

  // The stream, message by message: every batch, with one message id per batch.
  const auto [msgs, first, last] = stream_state(client, kStream);
  std::map<std::string, int> copies;                 // batch -> messages holding it
  std::map<std::string, std::set<std::string>> ids;  // batch -> its message ids
  jsErrCode jerr{};
  for (uint64_t seq = first; msgs && seq <= last; ++seq) {
    natsMsg* m = nullptr;
    REQUIRE(js_GetMsg(&m, client.js(), kStream, seq, nullptr, &jerr) == NATS_OK);
    const std::string data(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
    const char* id = nullptr;
    REQUIRE(natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK);
    ++copies[data];
    ids[data].insert(id);
    natsMsg_Destroy(m);
  }
  CHECK(copies.size() == static_cast<size_t>(written));  // nothing that was not written
  for (int b = 0; b < written; ++b) {
    CAPTURE(b);
    REQUIRE(copies.count(batch(b)) == 1);  // none lost
    CHECK(ids[batch(b)].size() == 1);      // a copy is the same publication, sent again
  }
  long twice = 0;  // batches the stream holds more than once
  for (const auto& [data, n] : copies) twice += n > 1;
  MESSAGE(msgs << " messages in the stream for " << written << " batches (" << twice
               << " of them stored more than once)");
  // A batch is stored again only when replayed after the window: each one is counted.
  CHECK(twice <= field(report, "replayed_after_dup_window"));

  // `dpscan collect` on the campaign's stream: each pair once, whatever the stream holds twice.
  const std::string out = (srv.dir / "collected.ndjson").string();
  std::vector<std::string> args = {"collect", "--cluster", srv.url(),         "outage",
                                   "-o",      out,         "--output-format", "ndjson"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  REQUIRE(run_cluster_command(static_cast<int>(argv.size()), argv.data()) == 0);
  std::ifstream in(out);
  std::map<std::string, int> lines;
  for (std::string line; std::getline(in, line);) ++lines[line];
  std::map<std::string, int> expected;
  for (int b = 0; b < written; ++b)
    for (int h = 1; h <= 2; ++h)
      ++expected["{\"ip\":\"198.18." + std::to_string(b) + "." + std::to_string(h) +
                 "\",\"port\":80}"];
  CHECK(lines == expected);
}

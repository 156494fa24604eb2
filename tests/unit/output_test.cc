#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "dpscan/checkpoint.hpp"
#include "dpscan/counters.hpp"
#include "dpscan/error.hpp"
#include "dpscan/output.hpp"
#include "dpscan/summary.hpp"

using namespace dpscan;

namespace {

Result tcp_result(Ipv4Addr ip, uint16_t port, Status st, uint8_t ttl, uint16_t window,
                  uint32_t time_s) {
  Result r;
  r.ip = ip;
  r.port = port;
  r.status = st;
  r.reason = st == Status::kOpen ? Reason::kSynAck : Reason::kReset;
  r.ttl = ttl;
  r.window = window;
  r.time_s = time_s;
  return r;
}

// One output: an encoder into a sink kept in memory (no files).
struct InMemory {
  MemorySink* sink = nullptr;
  Outputs outputs;
};

InMemory in_memory(OutputFormat fmt, bool dry) {
  OutputContext ctx;
  ctx.scan_name = "lab";
  ctx.ports = {80};
  auto sink = std::make_unique<MemorySink>();
  MemorySink* raw = sink.get();
  std::vector<Outputs::Output> v;
  v.push_back({make_encoder(fmt, ctx, dry), std::move(sink)});
  return {raw, Outputs(std::move(v))};
}

std::string render(OutputFormat fmt, bool dry) {
  auto m = in_memory(fmt, dry);
  m.outputs.begin();
  if (dry)
    m.outputs.probe(ProbeRecord{Ipv4Addr(0xc6120001u), 80, 0});
  else
    m.outputs.result(tcp_result(Ipv4Addr(0xc6120001u), 80, Status::kOpen, 64, 65535, 1700000000));
  m.outputs.end();
  CHECK(m.sink->closed());
  return m.sink->data();
}

}  // namespace

TEST_CASE("result formats, encoded into memory") {
  CHECK(render(OutputFormat::kCsv, false) ==
        "ip,port,status,ttl,window,timestamp\n198.18.0.1,80,open,64,65535,1700000000\n");
  CHECK(render(OutputFormat::kNdjson, false) ==
        "{\"ip\":\"198.18.0.1\",\"port\":80,\"status\":\"open\",\"ttl\":64,\"window\":65535,"
        "\"timestamp\":1700000000,\"scan\":\"lab\",\"reason\":\"syn-ack\",\"proto\":\"tcp\","
        "\"validation_bits\":0}\n");
  CHECK(render(OutputFormat::kList, false) ==
        "#masscan\nopen tcp 80 198.18.0.1 1700000000\n# end\n");
  CHECK(render(OutputFormat::kCsv, true) == "ip,port\n198.18.0.1,80\n");
  CHECK(render(OutputFormat::kNdjson, true) == "{\"ip\":\"198.18.0.1\",\"port\":80}\n");
  const std::string xml = render(OutputFormat::kXml, false);
  CHECK(xml.find(R"(<address addr="198.18.0.1" addrtype="ipv4"/>)") != std::string::npos);
  CHECK(xml.find(R"(<port protocol="tcp" portid="80"><state state="open" reason="syn-ack")") !=
        std::string::npos);
}

TEST_CASE("sinks get batches, and everything on flush") {
  auto m = in_memory(OutputFormat::kList, false);
  m.outputs.begin();
  CHECK(m.sink->data().empty());  // still in the batch
  const Result r = tcp_result(Ipv4Addr(0xc6120001u), 80, Status::kOpen, 64, 65535, 1700000000);
  const size_t line = std::string("open tcp 80 198.18.0.1 1700000000\n").size();
  size_t n = 0;
  while (m.sink->data().empty()) {
    m.outputs.result(r);
    ++n;
  }
  CHECK(n * line + 9 >= Outputs::kBatch);  // handed over once about a batch had collected
  CHECK(n * line + 9 < Outputs::kBatch + 2 * line);
  m.outputs.result(r);
  m.outputs.flush();
  CHECK(m.sink->flushes() == 1);
  CHECK(m.sink->data().size() == 9 + (n + 1) * line);  // "#masscan\n" + every line
  m.outputs.end();
  CHECK(m.sink->data().size() == 9 + (n + 1) * line + 6);
}

TEST_CASE("file sinks report write failures") {
  CHECK_THROWS_AS(FileSink("/nonexistent-dir/x.csv"), RuntimeError);
  FileSink full("/dev/full");
  const std::string big(1 << 21, 'x');
  CHECK_THROWS_AS((full.write(big), full.close()), RuntimeError);
}

TEST_CASE("summary JSON: every counter of the table once, drops summed into dropped_total") {
  RunSummary s;
  s.send_duration_s = 2;
  s.counters.add(CounterHome::kTx, static_cast<size_t>(TxCounter::kSent), 10);
  s.counters.add(CounterHome::kRx, rx_slot(Status::kOpen), 3);
  s.counters.add(CounterHome::kRx, rx_slot(Status::kClosed), 4);
  s.counters.add(CounterHome::kRx, rx_slot(Status::kUnreachable), 5);
  s.counters.add(CounterHome::kRx, rx_slot(Drop::kBadCookie), 2);
  s.counters.add(CounterHome::kRx, rx_slot(RxCounter::kResultRingFull), 7);
  s.counters.add(CounterHome::kDevice, static_cast<size_t>(DeviceCounter::kMissed), 1);
  s.counters.add(CounterHome::kRx, rx_slot(RxCounter::kDuplicates), 9);
  CHECK(s.dropped_total() == 10);  // duplicates are not drops
  const std::string j = summary_json(s);
  for (const char* key : {"\"sent\": 10", "\"send_duration_s\": 2.0", "\"send_rate_pps\": 5.0",
                          "\"received\": 0", "\"open\": 3", "\"closed\": 4", "\"unreachable\": 5",
                          "\"duplicates\": 9", "\"seed\"", "\"bad_cookie\": 2",
                          "\"result_ring_full\": 7", "\"rx_missed\": 1", "\"dropped_total\": 10"}) {
    CAPTURE(key);
    CHECK(j.find(key) != std::string::npos);
  }
  for (const auto& def : counter_table()) {
    CAPTURE(def.name);
    const std::string key = "\"" + def.name + "\": ";
    const size_t at = j.find(key);
    CHECK(at != std::string::npos);
    CHECK(j.find(key, at + 1) == std::string::npos);
  }
  CHECK(j.find("\"duplicate\"") == std::string::npos);
}

TEST_CASE("the counter table: every slot of every home once, names unique") {
  const auto& table = counter_table();
  std::set<std::string> names;
  size_t tx = 0, rx = 0, dev = 0;
  for (const auto& d : table) {
    CHECK(names.insert(d.name).second);
    CHECK(!d.help.empty());
    (d.home == CounterHome::kTx ? tx : d.home == CounterHome::kRx ? rx : dev)++;
  }
  CHECK(tx == kTxSlots);
  CHECK(rx == kRxSlots);
  CHECK(dev == kDeviceSlots);
  CounterValues v;
  for (size_t i = 0; i < table.size(); ++i) v[i] = i + 1;
  CHECK(v.get(TxCounter::kSent) == v.get("sent"));
  CHECK(v.get(Status::kUnreachable) == v.get("unreachable"));
  CHECK(v.get(Drop::kArpOther) == v.get("arp_other"));
  CHECK(v.get(DeviceCounter::kNoMbuf) == v.get("rx_nombuf"));
  CHECK_THROWS(v.get("no_such_counter"));
}

TEST_CASE("checkpoints and summaries are the owner's alone (0600), whatever the umask") {
  char dir[] = "/tmp/dpscan-modes.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string ck = std::string(dir) + "/ck", sum = std::string(dir) + "/summary.json";
  const mode_t old_umask = ::umask(0);
  // Left 0644 by an earlier run: a checkpoint's temporary file and a summary.
  for (const std::string& p : {ck + ".tmp", sum}) {
    std::ofstream(p) << "old\n";
    ::chmod(p.c_str(), 0644);
  }
  Checkpoint c;
  c.positions = {1};
  c.sent = {1};
  write_checkpoint(ck, c);
  write_summary_file(RunSummary{}, sum);
  const std::string fresh = std::string(dir) + "/fresh.json";
  write_summary_file(RunSummary{}, fresh);
  ::umask(old_umask);
  for (const std::string& p : {ck, sum, fresh}) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    CHECK_MESSAGE((st.st_mode & 0777) == 0600, p);
    ::unlink(p.c_str());
  }
  ::rmdir(dir);
}

// The cluster's pure parts: NATS URLs, the bucket's keys and values, and reading back the
// ndjson records dpscan writes (what `dpscan collect` does), checked against the encoder.
#include <doctest/doctest.h>

#include <random>

#include "cluster/bucket.hpp"
#include "cluster/nats_client.hpp"
#include "cluster/records.hpp"
#include "dpscan/error.hpp"
#include "dpscan/output.hpp"

using namespace dpscan;

TEST_CASE("NATS URLs: servers, credentials, subject") {
  NatsUrl u = parse_nats_url("nats://127.0.0.1:4222", "t");
  CHECK(u.servers == std::vector<std::string>{"nats://127.0.0.1:4222"});
  CHECK(u.path.empty());
  CHECK_FALSE(u.tls);
  u = parse_nats_url("nats://a:1,b:2,nats://c:3/dpscan.lab.results", "t");
  CHECK(u.servers == std::vector<std::string>{"nats://a:1", "nats://b:2", "nats://c:3"});
  CHECK(u.path == "dpscan.lab.results");
  u = parse_nats_url("tls://user:secret@host:4443/x", "t");
  CHECK(u.tls);
  CHECK(u.servers == std::vector<std::string>{"tls://user:secret@host:4443"});
  CHECK(masked_servers(u) == "tls://host:4443");
  CHECK(parse_nats_url("nats://host", "t").servers.size() == 1);  // the default port
  // Each server keeps its own scheme; one tls:// makes the connection TLS.
  u = parse_nats_url("nats://a:1,tls://b:2,c:3/x", "t");
  CHECK(u.servers == std::vector<std::string>{"nats://a:1", "tls://b:2", "nats://c:3"});
  CHECK(u.tls);
  u = parse_nats_url("tls://a:1,nats://b:2", "t");
  CHECK(u.servers == std::vector<std::string>{"tls://a:1", "nats://b:2"});
  CHECK(u.tls);
  for (const char* bad : {"127.0.0.1:4222", "http://h:1", "nats://", "nats://h:0", "nats://h:70000",
                          "nats://h:x", "nats://a:1,:2", "nats://a:1,http://b:2"})
    CHECK_THROWS_AS(parse_nats_url(bad, "t"), UsageError);
}

TEST_CASE("NATS names") {
  CHECK(nats_name_ok("dpscan.lab.results", true));
  CHECK_FALSE(nats_name_ok("dpscan.lab.results", false));
  CHECK(nats_name_ok("DPSCAN_lab-1", false));
  for (const char* bad : {"", ".a", "a.", "a..b", "a b", "a*", "a>"})
    CHECK_FALSE(nats_name_ok(bad, true));
}

TEST_CASE("bucket keys and values") {
  CHECK(claim_key("lab", 3) == "claim.lab.3");
  CHECK(checkpoint_key("web scan", 1) == "ckpt.web_scan.1");
  CHECK(plan_key("a.b") == "plan.a_b");
  const Fields f{{"owner", "host/12/ab"}, {"state", "running"}, {"sent", "12"}};
  CHECK(fields_text(f) == "owner=host/12/ab sent=12 state=running");
  CHECK(parse_fields(fields_text(f)) == f);
  CHECK(parse_fields("  a=1  b= c=x=y junk ") == Fields{{"a", "1"}, {"b", ""}, {"c", "x=y"}});
}

TEST_CASE("ndjson records read back equal what the encoder wrote") {
  OutputContext ctx;
  ctx.scan_name = "web \"scan\"\\1";
  auto enc = make_encoder(OutputFormat::kNdjson, ctx, false);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Result r{};
    r.ip = Ipv4Addr(static_cast<uint32_t>(rng()));
    r.port = static_cast<uint16_t>(1 + rng() % 65535);
    r.status = static_cast<Status>(rng() % 3);  // TCP: open, closed, unreachable
    r.ttl = static_cast<uint8_t>(rng());
    r.window = static_cast<uint16_t>(rng());
    r.time_s = static_cast<uint32_t>(rng());
    // The codes that have a reason of their own, and one that has not ("unreach").
    const Reason unreach[] = {Reason::kNetUnreach,      Reason::kHostUnreach,
                              Reason::kProtoUnreach,    Reason::kPortUnreach,
                              Reason::kNetProhibited,   Reason::kHostProhibited,
                              Reason::kAdminProhibited, Reason::kUnreach};
    r.reason = r.status == Status::kOpen     ? Reason::kSynAck
               : r.status == Status::kClosed ? Reason::kReset
                                             : unreach[rng() % 8];
    std::string line;
    enc->result(ResultView{r, {}}, line);
    REQUIRE(line.back() == '\n');
    line.pop_back();
    const auto rec = parse_record(line);
    REQUIRE(rec);
    CHECK_FALSE(rec->probe);
    CHECK(rec->scan == ctx.scan_name);
    std::string again;
    enc->result(ResultView{rec->result, {}}, again);
    CHECK(again == line + "\n");
  }
  auto dry = make_encoder(OutputFormat::kNdjson, ctx, true);
  std::string line;
  dry->probe(ProbeRecord{Ipv4Addr(0xc6120001), 443, 0}, line);
  line.pop_back();
  const auto rec = parse_record(line);
  REQUIRE(rec);
  CHECK(rec->probe);
  CHECK(rec->result.ip == Ipv4Addr(0xc6120001));
  CHECK(rec->result.port == 443);
}

TEST_CASE("a UDP dry run's probe records name their payload, and read back") {
  OutputContext ctx;
  ctx.protocol = Proto::kUdp;
  ctx.slot_names = {"dns", "nmap:/usr/share/nmap/nmap-payloads:7", "text"};
  auto dry = make_encoder(OutputFormat::kNdjson, ctx, true);
  std::string line;
  dry->probe(ProbeRecord{Ipv4Addr(0xc6120001), 53, 1}, line);
  CHECK(
      line ==
      "{\"ip\":\"198.18.0.1\",\"port\":53,\"payload\":\"nmap:/usr/share/nmap/nmap-payloads:7\"}\n");
  line.pop_back();
  const auto rec = parse_record(line);
  REQUIRE(rec);
  CHECK(rec->probe);
  CHECK(rec->result.port == 53);
  CHECK(rec->payload == "nmap:/usr/share/nmap/nmap-payloads:7");
  // A fourth key makes it no probe, and no result either.
  CHECK_FALSE(parse_record(R"({"ip":"198.18.0.1","port":53,"payload":"dns","x":"y"})"));
  auto csv = make_encoder(OutputFormat::kCsv, ctx, true);
  std::string text;
  csv->begin(text);
  csv->probe(ProbeRecord{Ipv4Addr(0xc6120001), 53, 0}, text);
  CHECK(text == "ip,port,payload\n198.18.0.1,53,dns\n");
}

TEST_CASE("malformed records are refused") {
  for (const char* bad :
       {"", "{}", "{\"ip\":\"1.2.3.4\"}", "{\"ip\":\"1.2.3.4\",\"port\":0}",
        "{\"ip\":\"1.2.3.999\",\"port\":80}", "{\"ip\":\"1.2.3.4\",\"port\":70000}",
        "{\"ip\":\"1.2.3.4\",\"port\":80,\"status\":\"open\"}",
        "{\"ip\":\"1.2.3.4\",\"port\":80,\"status\":\"ajar\",\"ttl\":1,\"window\":1,"
        "\"timestamp\":1,\"scan\":\"s\",\"reason\":\"syn-ack\"}",
        "{\"ip\":\"1.2.3.4\",\"port\":80,\"status\":\"open\",\"ttl\":1,\"window\":1,"
        "\"timestamp\":1,\"scan\":\"s\",\"reason\":\"reset\"}",
        "{\"ip\":\"1.2.3.4\",\"port\":80} trailing", "{\"ip\":\"1.2.3.4\",\"port\":80",
        "{\"ip\":\"1.2.3.4\",\"port\":-1}", "{\"ip\":\"1.2.3.4\",\"port\":\"80\\x\"}"})
    CHECK_MESSAGE(!parse_record(bad), bad);
}

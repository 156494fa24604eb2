#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "dpscan/error.hpp"
#include "dpscan/output.hpp"
#include "dpscan/summary.hpp"

using namespace dpscan;

namespace {

std::string temp_path() {
  char tmpl[] = "/tmp/dpscan-out-XXXXXX";
  const int fd = mkstemp(tmpl);
  close(fd);
  return tmpl;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string render(OutputFormat fmt, bool dry) {
  const std::string path = temp_path();
  {
    OutputFile f(path);
    WriterContext ctx;
    ctx.scan_name = "lab";
    ctx.ports = {80};
    auto w = make_writer(fmt, f, ctx, dry);
    w->begin();
    if (dry)
      w->probe(0xc6120001u, 80);
    else
      w->result(Result{0xc6120001u, 80, Status::kOpen, 64, 65535, 0, 0, 1700000000});
    w->end();
    f.close();
  }
  std::string s = slurp(path);
  std::remove(path.c_str());
  return s;
}

}  // namespace

TEST_CASE("result formats") {
  CHECK(render(OutputFormat::kCsv, false) ==
        "ip,port,status,ttl,window,timestamp\n198.18.0.1,80,open,64,65535,1700000000\n");
  CHECK(render(OutputFormat::kNdjson, false) ==
        "{\"ip\":\"198.18.0.1\",\"port\":80,\"status\":\"open\",\"ttl\":64,\"window\":65535,"
        "\"timestamp\":1700000000,\"scan\":\"lab\",\"reason\":\"syn-ack\"}\n");
  CHECK(render(OutputFormat::kList, false) ==
        "#masscan\nopen tcp 80 198.18.0.1 1700000000\n# end\n");
  CHECK(render(OutputFormat::kCsv, true) == "ip,port\n198.18.0.1,80\n");
}

TEST_CASE("write failures are reported") {
  CHECK_THROWS_AS(OutputFile("/nonexistent-dir/x.csv"), RuntimeError);
  OutputFile full("/dev/full");
  const std::string big(1 << 21, 'x');
  CHECK_THROWS_AS((full.write(big.data(), big.size()), full.close()), RuntimeError);
}

TEST_CASE("summary JSON has the documented keys") {
  RunSummary s;
  s.sent = 10;
  s.send_duration_s = 2;
  s.by_status = {3, 4, 5};
  s.dropped[static_cast<size_t>(Drop::kBadCookie)] = 2;
  const std::string j = summary_json(s);
  for (const char* key :
       {"\"sent\": 10", "\"send_duration_s\": 2.0", "\"send_rate_pps\": 5.0", "\"received\"",
        "\"open\": 3", "\"closed\": 4", "\"unreachable\": 5", "\"duplicates\"", "\"seed\"",
        "\"bad_cookie\": 2", "\"dropped_total\": 2"}) {
    CAPTURE(key);
    CHECK(j.find(key) != std::string::npos);
  }
}

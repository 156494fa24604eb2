// The JetStream sink against a real nats-server (Debian's, started here on 127.0.0.1 and
// stopped here; the test says so and checks nothing when it is not installed): what a
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
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "cluster/nats_client.hpp"
#include "dpscan/output.hpp"

extern char** environ;

using namespace dpscan;

namespace {

const char* nats_server() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"})
    if (::access(p, X_OK) == 0) return p;
  return nullptr;
}

bool port_open(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

template <typename F>
bool within(std::chrono::milliseconds limit, F f) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
  std::filesystem::path dir;
  ~Server() {
    if (pid > 0) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

TEST_CASE("JetStream sink: what a checkpoint may claim, spool and replay") {
  const char* exe = nats_server();
  if (!exe) {
    MESSAGE("nats-server is not installed: nothing checked (scripts/install-deps.sh installs it)");
    return;
  }
  Server srv;
  char tmpl[] = "/tmp/dpscan-sink-test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl));
  srv.dir = tmpl;
  srv.port = static_cast<uint16_t>(20000 + std::random_device{}() % 40000);
  const std::string port = std::to_string(srv.port), store = (srv.dir / "js").string();
  const char* argv[] = {exe,          "-js", "-a",          "127.0.0.1", "-p",
                        port.c_str(), "-sd", store.c_str(), nullptr};
  REQUIRE(::posix_spawn(&srv.pid, exe, nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
  REQUIRE(within(std::chrono::seconds(10), [&] { return port_open(srv.port); }));

  const std::string url = "nats://127.0.0.1:" + port + "/unit.sink";
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
               [&] { return std::filesystem::file_size(srv.dir / "shard.spool") > 0; }));
  CHECK_FALSE(shard->settled(s2));

  REQUIRE(::kill(srv.pid, SIGCONT) == 0);  // back: the spools are replayed
  CHECK(within(std::chrono::seconds(15), [&] { return shard->settled(s2); }));
  shard->close();
  plain->close();
  CHECK(shard->report_json().find("\"in_spool\":0") != std::string::npos);
  CHECK(plain->report_json().find("\"in_spool\":0") != std::string::npos);

  // Four batches written, four stored: a batch spooled after its publication timed out is
  // replayed with the same message id, and the stream keeps it once.
  NatsClient client(parse_nats_url("nats://127.0.0.1:" + port, "test"), NatsAuth{}, "test");
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  REQUIRE(js_GetStreamInfo(&si, client.js(), "DPSCAN_unit_sink", nullptr, &jerr) == NATS_OK);
  CHECK(si->State.Msgs == 4);
  jsStreamInfo_Destroy(si);
}

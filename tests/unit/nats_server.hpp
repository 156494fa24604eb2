// The nats-server the NATS unit tests start (nats_main.cc), and a server of their own on
// 127.0.0.1 for each test case.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

extern char** environ;

// The nats-server binary, or nullptr (then nats_main.cc skips the program).
const char* nats_server();

namespace nats_test {

inline bool port_open(uint16_t port) {
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

// A nats-server on 127.0.0.1, a free port (bound and released just before), its own store
// directory and configuration file (`extra`: lines added to it).
struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
  std::filesystem::path dir;
  explicit Server(const std::string& extra = "") {
    char tmpl[] = "/tmp/dpscan-sink-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    dir = tmpl;
    port = free_port();
    const std::string conf = (dir / "server.conf").string();
    {
      std::FILE* f = std::fopen(conf.c_str(), "w");
      REQUIRE(f);
      std::fprintf(f, "listen: 127.0.0.1:%u\njetstream { store_dir: %s }\n%s\n", port,
                   (dir / "js").c_str(), extra.c_str());
      std::fclose(f);
    }
    const char* exe = nats_server();
    const char* argv[] = {exe, "-c", conf.c_str(), nullptr};
    REQUIRE(::posix_spawn(&pid, exe, nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    REQUIRE(within(std::chrono::seconds(10), [&] { return port_open(port); }));
  }
  ~Server() {
    if (pid > 0) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string url(const std::string& path = "") const {
    return "nats://127.0.0.1:" + std::to_string(port) + (path.empty() ? "" : "/" + path);
  }
  static uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
  }
};

}  // namespace nats_test

using nats_test::Server;
using nats_test::within;

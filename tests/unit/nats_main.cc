// main() of the tests that need Debian's nats-server (nats_sink_test.cc): without it they are
// skipped, and the skip is counted as one (exit 77, meson's SKIP), not passed.
// DPSCAN_TEST_NATS_SERVER names another server binary (tests/unit/expect_skip.sh points it at
// a missing file to check the skip).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "nats_server.hpp"

const char* nats_server() {
  if (const char* env = std::getenv("DPSCAN_TEST_NATS_SERVER"))
    return ::access(env, X_OK) == 0 ? env : nullptr;
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"})
    if (::access(p, X_OK) == 0) return p;
  return nullptr;
}

int main(int argc, char** argv) {
  if (!nats_server()) {
    std::puts("SKIP: nats-server is not installed (scripts/install-deps.sh installs it)");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}

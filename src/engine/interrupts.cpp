#include "interrupts.hpp"

#include <csignal>

namespace {

std::atomic<int> g_interrupts{0};

extern "C" void on_signal(int) {
  g_interrupts.fetch_add(1);
}

}  // namespace

namespace dpscan {

std::atomic<int>& interrupts() {
  return g_interrupts;
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace dpscan

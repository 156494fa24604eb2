// SIGINT/SIGTERM as a count the main loops read (the first stops sending, a second ends at
// once), and SIGPIPE ignored: a closed pipe is a write error we report, not a silent death.
// Shared by dpscan and dpscan-reflect.
#pragma once

#include <atomic>

namespace dpscan {

std::atomic<int>& interrupts();
void install_interrupt_handlers();

}  // namespace dpscan

// Errors in three tiers (DESIGN.md, decision 9): configuration and start-up problems are
// exceptions carrying a message meant for the user; per-packet problems are counters; only
// main() turns an exception into an exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace dpscan {

// The user asked for something malformed or contradictory. main() exits with 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The request was fine but running it failed (device, file, network). main() exits with 1.
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace dpscan

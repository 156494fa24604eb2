// Errors in three tiers (docs/design.md, decision 9): configuration and start-up problems are
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

// A usage error in the value of one option (and, for a list, in its item `item`), so that a
// campaign can report it at that value's place in the file.
struct OptionError : UsageError {
  OptionError(std::string opt, const std::string& message, int list_item = -1)
      : UsageError(message), option(std::move(opt)), item(list_item) {}
  std::string option;  // the long name ("targets" for the positional arguments)
  int item;            // -1: the option as a whole
};

// The request was fine but running it failed (device, file, network). main() exits with 1.
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace dpscan

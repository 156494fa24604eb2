#include "dpscan/rng.hpp"

#include <random>

namespace dpscan {

uint64_t random_seed() {
  std::random_device rd;  // /dev/urandom (getrandom) on Linux
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace dpscan

// Small helpers for the benchmark programs: pin to one CPU, time a loop, print a figure.
// Benchmarks print measurements; they never assert on time.
#pragma once

#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace bench {

inline void pin(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) std::perror("sched_setaffinity");
}

inline unsigned cpu_from_env() {
  const char* c = std::getenv("BENCH_CPU");
  return c ? static_cast<unsigned>(std::atoi(c)) : 1u;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <typename T>
inline void keep(const T& v) {
  asm volatile("" : : "g"(&v) : "memory");
}

}  // namespace bench

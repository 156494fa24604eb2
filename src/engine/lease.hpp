// A shard held by a cluster worker (src/cluster/worker.cpp), as the main loop sees it: it is
// told each settled checkpoint (every result before it acknowledged by the stream) and the
// progress once a second, and says when another worker has taken the shard over. It stores
// and heartbeats on a thread of its own: the main loop never waits for the server.
#pragma once

#include <cstdint>

#include "dpscan/checkpoint.hpp"

namespace dpscan {

struct LeaseProgress {
  uint64_t sent = 0;
  uint64_t planned = 0;
  uint64_t results = 0;
  double rate_pps = 0;
};

class RunLease {
 public:
  virtual ~RunLease() = default;
  virtual void checkpoint(const Checkpoint& c) = 0;
  virtual void progress(const LeaseProgress& p) = 0;
  virtual bool lost() const = 0;  // another worker holds the shard now: send no more
};

}  // namespace dpscan

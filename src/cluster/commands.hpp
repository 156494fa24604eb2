// `dpscan cluster status` and `dpscan collect` (docs/cluster.md): one view of a cluster
// campaign, and its results stream drained into any of dpscan's output formats.
#pragma once

namespace dpscan {

// argv[0] is "cluster" or "collect". Returns the exit code; throws UsageError/RuntimeError.
int run_cluster_command(int argc, char** argv);

}  // namespace dpscan

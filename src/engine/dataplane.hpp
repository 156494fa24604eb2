// The DPDK side that outlives one scan: EAL (which a process can start only once), the
// device with its queues and pools, and the bench responder. A campaign's scans share it, so
// they must agree on the device, EAL arguments and lcore counts (main() checks that before
// the first scan sends anything).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "bench_responder.hpp"
#include "device.hpp"
#include "dpscan/plan.hpp"
#include "eal.hpp"

namespace dpscan {

class Dataplane {
 public:
  Dataplane() = default;
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Starts EAL and the device for the first plan; later plans reuse them.
  void open(const ScanPlan& plan);
  Device& device() { return *device_; }
  const EalLayout& layout() const { return eal_->layout(); }
  BenchResponder* responder() { return responder_ ? &*responder_ : nullptr; }
  // Writes the probe template into every TX mbuf (creating the pools the first time).
  void load_template(std::span<const uint8_t> tmpl);

 private:
  std::unique_ptr<Eal> eal_;
  std::optional<BenchResponder> responder_;
  std::optional<Device> device_;
  bool pools_ = false;
};

// What scans sharing one dataplane must have in common ("" for a dry run).
std::string dataplane_signature(const ScanPlan& plan);

}  // namespace dpscan

#include "dataplane.hpp"

#include <fmt/format.h>

namespace dpscan {

std::string dataplane_signature(const ScanPlan& plan) {
  if (plan.dry_run) return "";
  return fmt::format("device={} eal-args={} tx-lcores={} rx-lcores={} bench-responder={}",
                     plan.device, fmt::join(plan.eal_args, " "), plan.tx_lcores, plan.rx_lcores,
                     plan.bench_responder);
}

void Dataplane::open(const ScanPlan& plan) {
  if (eal_) return;
  eal_ = std::make_unique<Eal>(plan);
  uint16_t port_id = eal_->layout().port_id;
  if (plan.bench_responder) {
    responder_.emplace(eal_->layout().rx_queues,
                       eal_->layout().tx_queues + 1u);  // + the control queue
    port_id = responder_->port();
  }
  device_.emplace(port_id, plan.device, eal_->layout().rx_queues, eal_->layout().tx_queues);
}

void Dataplane::load_template(std::span<const uint8_t> tmpl) {
  if (!pools_) {
    device_->create_tx_pools(tmpl);
    pools_ = true;
  } else {
    device_->refill_tx_pools(tmpl);
  }
}

Dataplane::~Dataplane() {
  if (device_) device_->stop();
  device_.reset();
  responder_.reset();
  eal_.reset();
}

}  // namespace dpscan

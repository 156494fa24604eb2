#include "dataplane.hpp"

#include <fmt/format.h>

namespace dpscan {

std::string dataplane_signature(const ScanPlan& plan) {
  if (plan.dry_run) return "";
  return fmt::format("device={} eal-args={} tx-lcores={} rx-lcores={} lcores={} bench-responder={}",
                     plan.device, fmt::join(plan.eal_args, " "), plan.tx_lcores, plan.rx_lcores,
                     plan.single_lcore ? "1" : "", plan.bench_responder);
}

EalRequest eal_request(const ScanPlan& plan) {
  EalRequest r;
  r.program = "dpscan";
  r.device = plan.device;
  r.no_device = plan.bench_responder;
  r.eal_args = plan.eal_args;
  r.tx_lcores = plan.tx_lcores;
  r.rx_lcores = plan.rx_lcores;
  r.extra_lcores = plan.bench_responder ? 1 : 0;
  r.single_lcore = plan.single_lcore;
  r.tx_cpus = plan.tx_cpus;
  r.rx_cpus = plan.rx_cpus;
  r.verbosity = plan.verbosity;
  return r;
}

void Dataplane::open(const ScanPlan& plan) {
  if (eal_) return;
  eal_ = std::make_unique<Eal>(eal_request(plan));
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

#include "dpscan/counters.hpp"

#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace dpscan {
namespace {

struct Table {
  std::vector<CounterDef> defs;
  std::array<std::vector<size_t>, 3> index;  // by CounterHome, then slot
};

const Table& table() {
  static const Table built = [] {
    Table t;
    auto add = [&t](std::string name, std::string help, CounterHome home, CounterGroup group,
                    size_t slot) {
      t.defs.push_back(
          {std::move(name), std::move(help), home, group, static_cast<uint16_t>(slot)});
    };
    using H = CounterHome;
    using G = CounterGroup;
    auto tx = [&](TxCounter c, std::string name, std::string help) {
      add(std::move(name), std::move(help), H::kTx, G::kSend, static_cast<size_t>(c));
    };
    auto rx = [&](RxCounter c, std::string name, std::string help, G group = G::kReceive) {
      add(std::move(name), std::move(help), H::kRx, group, rx_slot(c));
    };
    tx(TxCounter::kSent, "sent", "probes handed to the device");
    tx(TxCounter::kRetries, "tx_retries",
       "transmit calls that took fewer probes than offered (retried, never dropped)");
    tx(TxCounter::kAllocWaits, "tx_alloc_waits",
       "bursts that waited for buffers the device had not freed yet");
    tx(TxCounter::kPacingStalls, "tx_pacing_stalls",
       "times the pacing fell over 100 ms behind and forgave the rest of the lag");
    tx(TxCounter::kPacingForgiven, "tx_pacing_forgiven",
       "probe slots of the schedule forgiven after those stalls (sent later: the scan takes "
       "longer; in a fixed time, sent + forgiven = rate x time)");
    tx(TxCounter::kControlSent, "control_sent",
       "control frames sent: neighbour answers and the module's replies");
    rx(RxCounter::kReceived, "received", "frames received");
    rx(RxCounter::kDuplicates, "duplicates", "answers for a target already reported");
    rx(RxCounter::kNeighbourReplies, "neighbour_replies",
       "ARP requests or neighbour solicitations for our addresses answered");
    rx(RxCounter::kRepliesSent, "replies_sent",
       "the probe module's replies queued (TCP SYN: an RST after each SYN-ACK)");
    rx(RxCounter::kVlanTagged, "rx_vlan_tagged", "answers that carried VLAN tags");
    rx(RxCounter::kIpOptions, "rx_ip_options",
       "answers with IPv4 options or IPv6 extension headers");
    rx(RxCounter::kCsumPartial, "rx_csum_partial",
       "answers accepted with a partial (offload) or unfilled transport checksum");
    rx(RxCounter::kCsumDevice, "rx_csum_device",
       "answers whose transport checksum the device checked");
    for (size_t i = 0; i < kStatusCount; ++i) {
      const auto s = static_cast<Status>(i);
      add(std::string(status_name(s)), fmt::format("results reported as {}", status_name(s)),
          H::kRx, G::kStatus, rx_slot(s));
    }
    for (size_t i = 0; i < kDropCount; ++i) {
      const auto d = static_cast<Drop>(i);
      add(std::string(drop_name(d)), fmt::format("frames dropped: {}", drop_name(d)), H::kRx,
          G::kDrop, rx_slot(d));
    }
    rx(RxCounter::kResultRingFull, "result_ring_full",
       "results lost because the main lcore's ring was full", G::kDrop);
    rx(RxCounter::kControlRingFull, "control_ring_full",
       "neighbour answers and module replies not sent: no buffer or the control ring was full",
       G::kDrop);
    add("rx_missed", "frames the device dropped for lack of room (imissed)", H::kDevice, G::kDrop,
        static_cast<size_t>(DeviceCounter::kMissed));
    add("rx_errors", "erroneous frames the device received (ierrors)", H::kDevice, G::kDrop,
        static_cast<size_t>(DeviceCounter::kErrors));
    add("rx_nombuf", "frames the device dropped for lack of buffers (rx_nombuf)", H::kDevice,
        G::kDrop, static_cast<size_t>(DeviceCounter::kNoMbuf));
    add("iface_dropped",
        "frames the kernel interface under the driver dropped before dpscan could take them "
        "(net_af_xdp, net_af_packet: its rx_dropped; net_tap: its tx_dropped)",
        H::kDevice, G::kDrop, static_cast<size_t>(DeviceCounter::kIfaceDropped));

    t.index[static_cast<size_t>(H::kTx)].assign(kTxSlots, ~size_t{0});
    t.index[static_cast<size_t>(H::kRx)].assign(kRxSlots, ~size_t{0});
    t.index[static_cast<size_t>(H::kDevice)].assign(kDeviceSlots, ~size_t{0});
    for (size_t i = 0; i < t.defs.size(); ++i)
      t.index[static_cast<size_t>(t.defs[i].home)].at(t.defs[i].slot) = i;
    for (const auto& slots : t.index)
      for (size_t i : slots)
        if (i == ~size_t{0}) throw std::logic_error("counter table: a slot without an entry");
    return t;
  }();
  return built;
}

}  // namespace

const std::vector<CounterDef>& counter_table() {
  return table().defs;
}

size_t CounterValues::index(CounterHome home, size_t slot) {
  return table().index[static_cast<size_t>(home)][slot];
}

CounterValues::CounterValues() : v_(table().defs.size(), 0) {}

void CounterValues::add(CounterHome home, size_t slot, uint64_t value) {
  v_[index(home, slot)] += value;
}

uint64_t CounterValues::get(TxCounter c) const {
  return v_[index(CounterHome::kTx, static_cast<size_t>(c))];
}
uint64_t CounterValues::get(RxCounter c) const {
  return v_[index(CounterHome::kRx, rx_slot(c))];
}
uint64_t CounterValues::get(Status s) const {
  return v_[index(CounterHome::kRx, rx_slot(s))];
}
uint64_t CounterValues::get(Drop d) const {
  return v_[index(CounterHome::kRx, rx_slot(d))];
}
uint64_t CounterValues::get(DeviceCounter c) const {
  return v_[index(CounterHome::kDevice, static_cast<size_t>(c))];
}

uint64_t CounterValues::get(std::string_view name) const {
  const auto& defs = table().defs;
  for (size_t i = 0; i < defs.size(); ++i)
    if (defs[i].name == name) return v_[i];
  throw std::out_of_range(fmt::format("no counter named '{}'", name));
}

uint64_t CounterValues::dropped_total() const {
  const auto& defs = table().defs;
  uint64_t n = 0;
  for (size_t i = 0; i < defs.size(); ++i)
    if (defs[i].group == CounterGroup::kDrop) n += v_[i];
  return n;
}

}  // namespace dpscan

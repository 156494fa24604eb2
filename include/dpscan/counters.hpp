// Every counter of a run, declared once (docs/design.md, decision 12), the way DPDK's ethdev
// keeps one {name, offset} table for its xstats: the status line, the summary JSON, DPDK
// telemetry and the Prometheus exposition are all generated from counter_table(), so they
// cannot disagree. Each entry says where the counter lives (a slot in every TX lcore's
// block, in every RX lcore's block, or the device's statistics) and how it is reported
// (with the sending figures, the receiving ones, results by status, or as a drop: in the
// summary's "dropped" object and in dropped_total).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/status.hpp"

namespace dpscan {

// A TX lcore's counters.
enum class TxCounter : uint16_t {
  kSent,
  kRetries,
  kAllocWaits,
  kPacingStalls,
  kPacingForgiven,
  kControlSent,
  kCount
};
inline constexpr size_t kTxSlots = static_cast<size_t>(TxCounter::kCount);

// An RX lcore's counters: these, then one per Status, then one per Drop.
enum class RxCounter : uint16_t {
  kReceived,
  kDuplicates,
  kNeighbourReplies,
  kRepliesSent,
  kVlanTagged,
  kIpOptions,
  kCsumPartial,
  kCsumDevice,
  kResultRingFull,
  kControlRingFull,
  kCount
};
inline constexpr size_t kRxFixedSlots = static_cast<size_t>(RxCounter::kCount);
inline constexpr size_t kRxSlots = kRxFixedSlots + kStatusCount + kDropCount;
constexpr size_t rx_slot(RxCounter c) {
  return static_cast<size_t>(c);
}
constexpr size_t rx_slot(Status s) {
  return kRxFixedSlots + static_cast<size_t>(s);
}
constexpr size_t rx_slot(Drop d) {
  return kRxFixedSlots + kStatusCount + static_cast<size_t>(d);
}

// The device's own statistics (rte_eth_stats), read by the main lcore.
enum class DeviceCounter : uint16_t { kMissed, kErrors, kNoMbuf, kIfaceDropped, kCount };
inline constexpr size_t kDeviceSlots = static_cast<size_t>(DeviceCounter::kCount);

enum class CounterHome : uint8_t { kTx, kRx, kDevice };
enum class CounterGroup : uint8_t { kSend, kReceive, kStatus, kDrop };

struct CounterDef {
  std::string name;  // summary, status and telemetry key; Prometheus: dpscan_<name>_total
  std::string help;  // one line, for the Prometheus HELP and the documentation
  CounterHome home;
  CounterGroup group;
  uint16_t slot;  // index in its home's block
};

// The table, in the order the summary lists the counters.
const std::vector<CounterDef>& counter_table();

// One value per table entry: a run's totals (sums over its lcores) at some moment.
class CounterValues {
 public:
  CounterValues();
  uint64_t operator[](size_t table_index) const { return v_[table_index]; }
  uint64_t& operator[](size_t table_index) { return v_[table_index]; }
  size_t size() const { return v_.size(); }

  // Adds `value` to the entry of (home, slot).
  void add(CounterHome home, size_t slot, uint64_t value);
  uint64_t get(TxCounter c) const;
  uint64_t get(RxCounter c) const;
  uint64_t get(Status s) const;
  uint64_t get(Drop d) const;
  uint64_t get(DeviceCounter c) const;
  // By name (tests, exporters); throws std::out_of_range for an unknown name.
  uint64_t get(std::string_view name) const;
  uint64_t dropped_total() const;  // every CounterGroup::kDrop entry

  // The table index of (home, slot).
  static size_t index(CounterHome home, size_t slot);

 private:
  std::vector<uint64_t> v_;
};

}  // namespace dpscan

// Stream helpers for the NATS unit tests: read a stream's state, switch its acknowledgements.
#pragma once

#include <doctest/doctest.h>
#include <nats/nats.h>

#include <cstdint>

#include "cluster/nats_client.hpp"

namespace nats_test {

struct StreamState {
  uint64_t msgs = 0, first = 0, last = 0;  // messages, first and last sequence
};

inline StreamState stream_state(dpscan::NatsClient& client, const char* stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  REQUIRE(js_GetStreamInfo(&si, client.js(), stream, nullptr, &jerr) == NATS_OK);
  const StreamState st{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return st;
}

// The stream stores without acknowledging (no_ack), or acknowledges again.
inline void set_no_ack(dpscan::NatsClient& client, const char* stream, bool no_ack) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr{};
  REQUIRE(js_GetStreamInfo(&si, client.js(), stream, nullptr, &jerr) == NATS_OK);
  si->Config->NoAck = no_ack;
  jsStreamInfo* updated = nullptr;
  REQUIRE(js_UpdateStream(&updated, client.js(), si->Config, nullptr, &jerr) == NATS_OK);
  jsStreamInfo_Destroy(updated);
  jsStreamInfo_Destroy(si);
}

}  // namespace nats_test

using nats_test::set_no_ack;
using nats_test::stream_state;

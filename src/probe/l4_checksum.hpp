// How an answer's transport checksum (TCP, UDP) is taken, for every module.
#pragma once

#include <cstdint>

#include "dpscan/bytes.hpp"
#include "dpscan/checksum.hpp"
#include "dpscan/family.hpp"

namespace dpscan {

enum class L4Csum : uint8_t { kBad, kVerified, kDevice, kPartial };

// The checksum of the `len` transport bytes at l3.l4 (protocol `proto`, the field at
// `field` bytes in) from `them` to `us`.
//
// A stack that offloads its checksum (CHECKSUM_PARTIAL in Linux) writes only the
// pseudo-header sum into the field, folded and not complemented (Linux: __tcp_v4_send_check,
// __tcp_v6_send_check, udp_set_csum), and leaves the rest to the NIC. When the segment never
// reaches a NIC - a veth, a tap, virtio between a guest and its host - it arrives that way,
// and af_packet, af_xdp and net_tap on 22.11 cannot tell us (their ol_flags say nothing).
// Such a field proves nothing about the payload, but those paths are memory copies inside
// one host, with no wire to corrupt the bytes; on a real wire the NIC always completes the
// checksum. So, in auto mode, a checksum that fails is accepted when it is exactly the
// partial value for this segment's own addresses and length: a corrupted complete checksum
// matches it by chance with probability 2^-16, and the answer must still carry the cookie to
// count. Anything else that fails is the module's checksum drop.
template <typename F>
L4Csum l4_checksum(const L3View<typename F::Addr>& l3, uint8_t proto, size_t len, size_t field,
                   RxChecksum mode, CsumFlag hw) {
  if (mode == RxChecksum::kTrust) return L4Csum::kVerified;
  if (mode == RxChecksum::kAuto) {
    if (hw == CsumFlag::kGood) return L4Csum::kDevice;
    if (hw == CsumFlag::kBad) return L4Csum::kBad;
    if (hw == CsumFlag::kNone) return L4Csum::kPartial;
  }
  const uint32_t pseudo = pseudo_header_sum<F>(l3.src, l3.dst, proto, static_cast<uint32_t>(len));
  if (checksum_fold(checksum_add(pseudo, l3.l4, len)) == 0) return L4Csum::kVerified;
  if (mode == RxChecksum::kAuto && load_be16(l3.l4 + field) == fold16(pseudo))
    return L4Csum::kPartial;
  return L4Csum::kBad;
}

}  // namespace dpscan

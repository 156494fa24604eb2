#include "dpscan/classify.hpp"
#include "dpscan/result.hpp"

namespace dpscan {

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kOpen:
      return "open";
    case Status::kClosed:
      return "closed";
    case Status::kUnreachable:
      return "unreachable";
  }
  return "?";
}

std::string_view drop_name(Drop d) {
  switch (d) {
    case Drop::kTruncated:
      return "truncated";
    case Drop::kNotIp:
      return "not_ipv4";
    case Drop::kBadIpHeader:
      return "bad_ip_header";
    case Drop::kIpChecksum:
      return "ip_checksum";
    case Drop::kFragment:
      return "fragment";
    case Drop::kNotForUs:
      return "not_for_us";
    case Drop::kProtocol:
      return "protocol";
    case Drop::kTcpChecksum:
      return "tcp_checksum";
    case Drop::kTcpFlags:
      return "tcp_flags";
    case Drop::kBadCookie:
      return "bad_cookie";
    case Drop::kIcmpOther:
      return "icmp_other";
    case Drop::kIcmpChecksum:
      return "icmp_checksum";
    case Drop::kArpOther:
      return "arp_other";
    case Drop::kOutOfScope:
      return "out_of_scope";
    case Drop::kDuplicate:
      return "duplicate";
    case Drop::kCount:
      break;
  }
  return "?";
}

std::string_view reason_name(const Result& r) {
  switch (r.status) {
    case Status::kOpen:
      return "syn-ack";
    case Status::kClosed:
      return "reset";
    case Status::kUnreachable:
      switch (r.icmp_code) {
        case 0:
          return "net-unreach";
        case 1:
          return "host-unreach";
        case 2:
          return "proto-unreach";
        case 3:
          return "port-unreach";
        case 9:
          return "net-prohibited";
        case 10:
          return "host-prohibited";
        case 13:
          return "admin-prohibited";
        default:
          return "unreach";
      }
  }
  return "?";
}

}  // namespace dpscan

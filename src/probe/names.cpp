#include "dpscan/result.hpp"

namespace dpscan {

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

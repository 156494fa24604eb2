#include "dpscan/prefix_generator.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"
#include "target/ipv6_text.hpp"

namespace dpscan {

InterfaceId parse_interface_id(std::string_view text) {
  text = trim_space(text);
  if (text == "low") return {InterfaceId::kLow, Ipv6Addr(0, 1)};
  if (text == "random") return {InterfaceId::kRandom, Ipv6Addr()};
  if (const auto a = Ipv6Addr::parse(text)) return {InterfaceId::kFixed, *a};
  throw UsageError(fmt::format(
      "invalid interface ID '{}': give low, random or an IPv6 address such as ::1 or ::dead:beef",
      printable(text, 64)));
}

bool is_generator_spec(std::string_view spec) {
  const size_t slash = spec.find('/');
  return slash != std::string_view::npos && spec.find('-', slash) != std::string_view::npos;
}

GeneratorSpec parse_generator(std::string_view spec, InterfaceId iid) {
  spec = trim_space(spec);
  const size_t slash = spec.find('/');
  const size_t dash = spec.find('-', slash == std::string_view::npos ? 0 : slash);
  if (slash == std::string_view::npos || dash == std::string_view::npos) {
    throw UsageError(
        fmt::format("invalid generator '{}': expected PREFIX/OUTER-INNER, such as 2001:db8::/32-48",
                    printable(spec, 64)));
  }
  GeneratorSpec g;
  g.text = std::string(spec);
  const Ipv6Addr addr = ipv6_or_throw(spec.substr(0, slash), spec);
  const auto outer = parse_prefix_length(spec.substr(slash + 1, dash - slash - 1));
  const auto inner = parse_prefix_length(spec.substr(dash + 1));
  if (!outer || !inner) {
    throw UsageError(fmt::format("invalid generator '{}': prefix lengths must be 0 to 128",
                                 printable(spec, 64)));
  }
  if (*inner < *outer) {
    throw UsageError(fmt::format(
        "invalid generator '{}': the inner prefix length /{} is shorter than the outer /{}",
        printable(spec, 64), *inner, *outer));
  }
  if (*inner - *outer > 64) {
    throw UsageError(fmt::format(
        "invalid generator '{}': /{} to /{} makes 2^{} prefixes, more than 2^64 (the inner "
        "length may be at most 64 more than the outer)",
        printable(spec, 64), *outer, *inner, *inner - *outer));
  }
  g.outer = *outer;
  g.inner = *inner;
  g.base = addr & Ipv6Addr::prefix_mask(g.outer);
  if (iid.kind == InterfaceId::kFixed &&
      (iid.fixed & Ipv6Addr::prefix_mask(g.inner)) != Ipv6Addr()) {
    throw UsageError(fmt::format(
        "interface ID {} does not fit generator '{}': it must be zero above the low {} bits "
        "(the bits below the /{} prefixes)",
        iid.fixed.to_string(), printable(spec, 64), 128 - g.inner, g.inner));
  }
  g.iid = iid;
  return g;
}

PrefixGenerator::PrefixGenerator(const GeneratorSpec& spec, uint64_t key)
    : spec_(spec),
      base_(spec.base.to_u128()),
      outer_mask_(Ipv6Addr::prefix_mask(spec.outer).to_u128()),
      host_mask_(~Ipv6Addr::prefix_mask(spec.inner).to_u128()),
      host_bits_(128 - spec.inner),
      key_(key) {
  if (spec.iid.kind == InterfaceId::kLow) iid_ = 1 & host_mask_;
  if (spec.iid.kind == InterfaceId::kFixed) iid_ = spec.iid.fixed.to_u128() & host_mask_;
}

}  // namespace dpscan

#include "memif_quiesce.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"

namespace dpscan {
namespace {

constexpr char kLeaving = 'L';
constexpr char kQuiet = 'Q';

// "key=value" of a device string's arguments, or nullopt.
std::optional<std::string> device_arg(std::string_view device, std::string_view key) {
  size_t at = device.find(',');
  while (at != std::string_view::npos) {
    const size_t end = device.find(',', at + 1);
    const std::string_view kv = device.substr(
        at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1);
    if (kv.size() > key.size() && kv.substr(0, key.size()) == key && kv[key.size()] == '=')
      return std::string(kv.substr(key.size() + 1));
    at = end;
  }
  return std::nullopt;
}

// The address as sockaddr_un; false when it does not fit.
bool to_sockaddr(const QuiesceAddress& a, sockaddr_un& sa, socklen_t& len) {
  std::memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  const size_t off = a.abstract ? 1 : 0;  // abstract: a leading NUL, no terminating one
  if (a.path.size() + off + (a.abstract ? 0 : 1) > sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path + off, a.path.data(), a.path.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off + a.path.size() +
                               (a.abstract ? 0 : 1));
  return true;
}

std::string describe(const QuiesceAddress& a) {
  return a.abstract ? "@" + a.path : a.path;
}

}  // namespace

std::optional<QuiesceAddress> quiesce_address(const std::string& device, bool own) {
  if (device.rfind("net_memif", 0) != 0) return std::nullopt;
  // DPDK 22.11's defaults: role client, socket /run/memif.sock, in the abstract namespace.
  const std::string role = device_arg(device, "role").value_or("client");
  const bool server =
      role.find("server") != std::string::npos || role.find("master") != std::string::npos;
  const bool listener_server = own ? server : !server;
  QuiesceAddress a;
  a.path = device_arg(device, "socket").value_or("/run/memif.sock") + ".quiesce-" +
           (listener_server ? "server" : "client");
  a.abstract =
      device_arg(device, "socket-abstract").value_or("yes").find("no") == std::string::npos;
  return a;
}

QuiesceListener::QuiesceListener(const std::string& device) {
  const auto a = quiesce_address(device, true);
  if (!a) throw RuntimeError(fmt::format("'{}' is not a net_memif device", device));
  sockaddr_un sa{};
  socklen_t len = 0;
  if (!to_sockaddr(*a, sa, len))
    throw RuntimeError(fmt::format("the memif socket path is too long for '{}'", describe(*a)));
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw RuntimeError(fmt::format("socket: {}", std::strerror(errno)));
  if (!a->abstract) ::unlink(a->path.c_str());  // left by a process that crashed
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), len) != 0 || ::listen(fd_, 8) != 0) {
    const int e = errno;
    ::close(fd_);
    throw RuntimeError(fmt::format("cannot listen on '{}' (memif departures): {}", describe(*a),
                                   std::strerror(e)));
  }
  if (!a->abstract) unlink_path_ = a->path;
  log::verbose("memif departures are announced on '{}'", describe(*a));
}

QuiesceListener::~QuiesceListener() {
  for (int p : peers_) ::close(p);
  if (fd_ >= 0) ::close(fd_);
  if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
}

void QuiesceListener::poll(const std::function<void()>& quiesce) {
  for (;;) {
    const int p = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (p < 0) break;
    peers_.push_back(p);
  }
  for (size_t i = 0; i < peers_.size();) {
    char c = 0;
    const ssize_t n = ::recv(peers_[i], &c, 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      ++i;
      continue;
    }
    if (n == 1 && c == kLeaving) {
      // This thread is between bursts: from here on it polls the port no more until the
      // link went down, and the peer may unmap.
      if (quiesce) quiesce();
      paused_ = true;
      ++departures_;
      (void)::send(peers_[i], &kQuiet, 1, MSG_NOSIGNAL);
      log::info("the memif peer announced its departure: not polling until its link is down");
    }
    ::close(peers_[i]);
    peers_.erase(peers_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

Departure announce_departure(const std::string& device, int timeout_ms) {
  const auto a = quiesce_address(device, false);
  if (!a) return Departure::kNoListener;
  sockaddr_un sa{};
  socklen_t len = 0;
  if (!to_sockaddr(*a, sa, len)) return Departure::kNoListener;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Departure::kNoListener;
  Departure d = Departure::kNoListener;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) == 0 &&
      ::send(fd, &kLeaving, 1, MSG_NOSIGNAL) == 1) {
    d = Departure::kTimedOut;
    pollfd pfd{fd, POLLIN, 0};
    int r;
    while ((r = ::poll(&pfd, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    char c = 0;
    if (r == 1 && ::recv(fd, &c, 1, 0) == 1 && c == kQuiet) d = Departure::kAcknowledged;
  }
  ::close(fd);
  return d;
}

}  // namespace dpscan

// The /metrics endpoint (metrics.hpp): one thread, non-blocking sockets under poll(), a
// deadline per connection from accept to the end of its answer.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/metrics.hpp"

namespace dpscan {
namespace {

using Clock = std::chrono::steady_clock;

bool tchar(char ch) {  // a method's characters (RFC 9110 token)
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr;
}

}  // namespace

RequestVerdict classify_request(std::string_view req) {
  // Junk is refused as soon as it shows: the method must be a token followed by a space.
  size_t sp = 0;
  while (sp < req.size() && req[sp] != ' ') {
    if (!tchar(req[sp])) return RequestVerdict::kBadRequest;
    ++sp;
  }
  if (sp == 0 && !req.empty()) return RequestVerdict::kBadRequest;
  size_t end = req.find("\r\n\r\n");
  if (end == std::string_view::npos) end = req.find("\n\n");
  if (end == std::string_view::npos)
    return req.size() >= MetricsServer::kMaxRequest ? RequestVerdict::kBadRequest
                                                    : RequestVerdict::kIncomplete;
  std::string_view line = req.substr(0, req.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // METHOD SP TARGET SP HTTP/1.x, nothing else (and no control bytes).
  const std::string_view method = line.substr(0, sp);
  const size_t sp2 = line.find(' ', sp + 1);
  if (sp >= line.size() || sp2 == std::string_view::npos) return RequestVerdict::kBadRequest;
  const std::string_view target = line.substr(sp + 1, sp2 - sp - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || target.front() != '/' || version.size() != 8 ||
      version.substr(0, 7) != "HTTP/1." || version[7] < '0' || version[7] > '9')
    return RequestVerdict::kBadRequest;
  for (char ch : target)
    if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) return RequestVerdict::kBadRequest;
  const bool get = method == "GET", head = method == "HEAD";
  if (!get && !head) return RequestVerdict::kBadMethod;
  const bool ours = target == "/metrics" || target.substr(0, 9) == "/metrics?";
  if (!ours) return RequestVerdict::kNotFound;
  return get ? RequestVerdict::kMetrics : RequestVerdict::kHeadMetrics;
}

struct MetricsServer::Client {
  int fd = -1;
  Clock::time_point deadline;
  std::string in;
  std::string head;  // the answer's status and header, once the request is known
  std::shared_ptr<const std::string> body;
  size_t sent = 0;  // of head, then body
  bool answering() const { return !head.empty(); }
};

MetricsServer::MetricsServer(const std::string& spec) {
  const ListenAddress a = parse_listen_address(spec);
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    throw RuntimeError(fmt::format("--metrics-listen {}: socket: {}", spec, std::strerror(errno)));
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(a.addr);
  sa.sin_port = htons(a.port);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      listen(listen_fd_, static_cast<int>(kMaxClients)) != 0 ||
      pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int e = errno;
    close(listen_fd_);
    throw RuntimeError(
        fmt::format("--metrics-listen {}: cannot listen: {}", spec, std::strerror(e)));
  }
  socklen_t len = sizeof sa;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.sin_port);
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  stop_ = true;
  const char b = 1;
  [[maybe_unused]] const ssize_t n = write(wake_[1], &b, 1);  // full pipe: already woken
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
  if (refused() || timed_out())
    log::info(
        "metrics: {} connections refused (more than {} at once), {} closed at their {} ms "
        "deadline",
        refused(), kMaxClients, timed_out(), kDeadline.count());
}

void MetricsServer::publish(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  text_ = std::make_shared<const std::string>(std::move(text));
}

void MetricsServer::serve() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  bool accept_paused = false;  // out of file descriptors: retry after a poll timeout
  while (!stop_) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({accept_paused ? -1 : listen_fd_, POLLIN, 0});
    auto next = Clock::now() + std::chrono::milliseconds(500);
    for (const auto& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.answering() ? POLLOUT : POLLIN), 0});
      next = std::min(next, c.deadline);
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    const int ready =
        poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (stop_) break;
    if (ready < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
    accept_paused = false;
    const auto now = Clock::now();
    // The clients first (fds[2 + i] is clients[i]), then new connections.
    size_t kept = 0;
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short ev = fds[2 + i].revents;
      bool open = true;
      if (ev & (POLLIN | POLLERR | POLLHUP)) open = c.answering() ? open : read_request(c);
      if (open && c.answering() && (ev & (POLLOUT | POLLERR | POLLHUP))) open = send_answer(c);
      if (open && now >= c.deadline) {
        timed_out_.fetch_add(1, std::memory_order_relaxed);
        open = false;
      }
      if (!open) {
        close(c.fd);
        continue;
      }
      if (kept != i) clients[kept] = std::move(c);
      ++kept;
    }
    clients.resize(kept);
    if (fds[1].revents & POLLIN) accept_paused = !accept_all(clients);
  }
  for (const auto& c : clients) close(c.fd);
}

// False when out of file descriptors (the listening socket stays readable: poll it later).
bool MetricsServer::accept_all(std::vector<Client>& clients) {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return errno != EMFILE && errno != ENFILE;
    if (clients.size() >= kMaxClients) {
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      [[maybe_unused]] const ssize_t n = send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
      close(fd);
      refused_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Client c;
    c.fd = fd;
    c.deadline = Clock::now() + kDeadline;
    clients.push_back(std::move(c));
  }
}

// Reads what has arrived; once the request is known, makes the answer and sends what the
// socket takes at once.
bool MetricsServer::read_request(Client& c) {
  char buf[2048];
  bool eof = false;
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n == 0) {
      eof = true;  // a client may end its side after the request: it still gets the answer
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    c.in.append(buf, static_cast<size_t>(n));
    if (c.in.size() >= kMaxRequest) break;
  }
  const RequestVerdict v = classify_request(c.in);
  if (v == RequestVerdict::kIncomplete) return !eof;
  answer(v, c);
  return send_answer(c);
}

bool MetricsServer::send_answer(Client& c) {
  const size_t total = c.head.size() + (c.body ? c.body->size() : 0);
  while (c.sent < total) {
    iovec iov[2];
    size_t parts = 0;
    if (c.sent < c.head.size()) iov[parts++] = {c.head.data() + c.sent, c.head.size() - c.sent};
    const size_t body_sent = c.sent > c.head.size() ? c.sent - c.head.size() : 0;
    if (c.body && body_sent < c.body->size())
      iov[parts++] = {const_cast<char*>(c.body->data()) + body_sent, c.body->size() - body_sent};
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = parts;
    const ssize_t n = sendmsg(c.fd, &m, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // poll for POLLOUT
    if (n <= 0) return false;
    c.sent += static_cast<size_t>(n);
  }
  // All sent: read what else the client wrote (a close with unread bytes would reset the
  // connection, and the client could lose the end of the answer), then close.
  shutdown(c.fd, SHUT_WR);
  char buf[1024];
  while (recv(c.fd, buf, sizeof buf, 0) > 0) {
  }
  return false;
}

// The status and header, and the body: the published text itself (shared, not copied), or
// a line saying what is wrong.
void MetricsServer::answer(RequestVerdict v, Client& c) {
  std::string status = "200 OK", extra, why;
  switch (v) {
    case RequestVerdict::kMetrics:
    case RequestVerdict::kHeadMetrics: {
      std::lock_guard<std::mutex> lock(mu_);
      c.body = text_ ? text_ : std::make_shared<const std::string>();
      scrapes_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case RequestVerdict::kNotFound:
      status = "404 Not Found";
      why = "dpscan serves /metrics\n";
      break;
    case RequestVerdict::kBadMethod:
      status = "405 Method Not Allowed";
      extra = "Allow: GET, HEAD\r\n";
      why = "only GET and HEAD\n";
      break;
    default:
      status = "400 Bad Request";
      why = "not an HTTP/1.x request\n";
      break;
  }
  if (!why.empty()) c.body = std::make_shared<const std::string>(std::move(why));
  c.head = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: "
      "{}\r\n{}Connection: close\r\n\r\n",
      status, c.body->size(), extra);
  if (v == RequestVerdict::kHeadMetrics) c.body.reset();
}

}  // namespace dpscan

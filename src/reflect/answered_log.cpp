#include "answered_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/status.hpp"

namespace dpscan::reflect {
namespace {

constexpr const char* kHeader = "ip,port,status,ttl,window,timestamp,proto\n";

std::FILE* open_or_throw(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f)
    throw RuntimeError(
        fmt::format("cannot write --answered file '{}': {}", path, std::strerror(errno)));
  return f;
}

}  // namespace

size_t AnsweredWriter::KeyHash::operator()(const Key& k) const {
  uint64_t z = k.hi * 0x9e3779b97f4a7c15ULL ^ k.lo * 0xd6e8feb86659fd93ULL ^ k.port_v6;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  return static_cast<size_t>(z ^ (z >> 31));
}

AnsweredWriter::AnsweredWriter(std::string path, Lookup lookup, size_t ring_capacity)
    : path_(std::move(path)), lookup_(std::move(lookup)), ring_(ring_capacity) {
  file_ = open_or_throw(path_);
  failed_ = std::fputs(kHeader, file_) < 0 || std::fflush(file_) != 0;
}

AnsweredWriter::~AnsweredWriter() {
  stop_thread();
  if (file_) std::fclose(file_);
}

void AnsweredWriter::set_clock(uint64_t hz, uint64_t start_tsc, double unix_base) {
  hz_ = hz ? hz : 1;
  start_tsc_ = start_tsc;
  unix_base_ = unix_base;
}

std::string AnsweredWriter::line(const AnswerRecord& r) const {
  const IpAddr ip = r.ip();
  const auto proto = static_cast<Proto>(r.proto);
  const auto [ttl, window] = lookup_(proto, ip, r.port);
  const double t = unix_base_ + static_cast<double>(r.tsc - start_tsc_) / static_cast<double>(hz_);
  return fmt::format("{},{},{},{},{},{:.6f},{}\n", ip.to_string(), r.port,
                     status_name(static_cast<Status>(r.status)), ttl, window, t, proto_name(proto));
}

size_t AnsweredWriter::drain() {
  std::string buf;
  size_t total = 0;
  for (;;) {
    const size_t n = ring_.pop(4096, [&](const AnswerRecord& r) {
      if (!seen_
               .insert(Key{r.hi, r.lo,
                           uint32_t{r.port} | uint32_t{r.v6} << 16 | uint32_t{r.proto} << 17})
               .second)
        return;
      kept_.push_back(r);
      buf += line(r);
    });
    total += n;
    if (buf.size() > (1 << 16) || n == 0) {
      if (file_ && !buf.empty() && std::fwrite(buf.data(), 1, buf.size(), file_) != buf.size())
        failed_ = true;
      buf.clear();
    }
    if (n == 0) break;
  }
  if (file_ && std::fflush(file_) != 0) failed_ = true;
  records_.fetch_add(total, std::memory_order_relaxed);
  return total;
}

void AnsweredWriter::loop(std::chrono::milliseconds period) {
  std::unique_lock lock(mu_);
  while (!stop_) {
    wake_.wait_for(lock, period, [&] { return stop_; });
    lock.unlock();
    drain();
    lock.lock();
  }
}

void AnsweredWriter::start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] { loop(period); });
}

void AnsweredWriter::stop_thread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AnsweredWriter::finish() {
  stop_thread();
  drain();
  if (failed_) throw RuntimeError(fmt::format("writing --answered file '{}' failed", path_));
  // Sorted by address, port; the first answer per pair is the only one kept.
  std::vector<AnswerRecord> sorted = kept_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const AnswerRecord& a, const AnswerRecord& b) {
    const IpAddr x = a.ip(), y = b.ip();
    return x != y ? x < y : a.proto != b.proto ? a.proto < b.proto : a.port < b.port;
  });
  const std::string tmp = path_ + ".sorting";
  std::FILE* f = open_or_throw(tmp);
  std::string buf = kHeader;
  bool ok = true;
  for (const AnswerRecord& r : sorted) {
    buf += line(r);
    if (buf.size() > (1 << 16)) {
      ok = ok && std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
      buf.clear();
    }
  }
  ok = ok && std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
  // Durable before it replaces the streamed file: a power loss leaves one or the other.
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw RuntimeError(fmt::format("writing --answered file '{}' failed", path_));
  }
  std::fclose(file_);
  file_ = nullptr;
}

}  // namespace dpscan::reflect

// --output-spec nats:nats://[USER:PASS@]HOST:PORT/SUBJECT: ndjson batches published to a NATS
// JetStream stream (docs/design.md, decision 14).
//
// write() hands each batch (whole records, about 64 KiB) to a publisher thread, so the main
// lcore never waits for the server. The thread publishes batches in order, each with a
// message id (this run's random id and the batch number) and waits for JetStream's
// acknowledgement: a batch retried after a lost acknowledgement is stored once (the stream's
// duplicate window). While the server is away, batches are appended to a local spool file
// (SUBJECT's name + ".spool" in the working directory, or DPSCAN_NATS_SPOOL) and replayed in
// order, before any newer batch, once it answers again. flush() returns when every batch
// written so far is acknowledged or in the spool (fsynced): what a checkpoint needs.
#include "nats_sink.hpp"

#include <fcntl.h>
#include <nats/nats.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"

namespace dpscan {
namespace {

constexpr int64_t kAckTimeoutMs = 2000;

struct Batch {
  uint64_t seq;
  std::string data;
};

// nats://[user:pass@]host:port/subject -> (server URL, subject)
std::pair<std::string, std::string> split_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.compare(0, scheme, "nats") != 0 && url.compare(0, scheme, "tls") != 0))
    throw UsageError(fmt::format(
        "--output-spec nats:{}: expected nats://[USER:PASS@]HOST:PORT/SUBJECT (or tls://...)",
        url));
  const size_t slash = url.find('/', scheme + 3);
  if (slash == std::string::npos || slash + 1 == url.size())
    throw UsageError(fmt::format("--output-spec nats:{}: no /SUBJECT after the server", url));
  const std::string subject = url.substr(slash + 1);
  for (char ch : subject)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_'))
      throw UsageError(
          fmt::format("--output-spec nats:{}: subject '{}' may hold letters, digits, "
                      "'.', '-' and '_' only",
                      url, subject));
  return {url.substr(0, slash), subject};
}

std::string stream_name(const std::string& subject) {
  std::string s = "DPSCAN_";
  for (char ch : subject) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return s;
}

class NatsSink final : public Sink {
 public:
  explicit NatsSink(const std::string& url) : name_("nats:" + url) {
    std::tie(server_, subject_) = split_url(url);
    const char* env = std::getenv("DPSCAN_NATS_SPOOL");
    spool_path_ = env && *env ? env : subject_ + ".spool";
    spool_fd_ = ::open(spool_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (spool_fd_ < 0)
      throw RuntimeError(fmt::format("{}: cannot open the spool {}: {}", name_, spool_path_,
                                     std::strerror(errno)));
    spooled_ = ::lseek(spool_fd_, 0, SEEK_END) > 0;  // left by an earlier run: replayed first
    run_id_ = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, server_.c_str());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
    // With a callback the first connection is retried in the background (without one,
    // Connect would retry in this thread, forever with MaxReconnect -1).
    if (s == NATS_OK)
      s = natsOptions_SetRetryOnFailedConnect(
          opts, true, [](natsConnection*, void*) {}, nullptr);
    if (s == NATS_OK) s = natsConnection_Connect(&conn_, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
      throw RuntimeError(fmt::format("{}: {}", name_, natsStatus_GetText(s)));
    if (s == NATS_NOT_YET_CONNECTED)
      log::info("{}: server not reachable yet; results go to the spool {} until it is", name_,
                spool_path_);
    if (natsConnection_JetStream(&js_, conn_, nullptr) != NATS_OK)
      throw RuntimeError(fmt::format("{}: no JetStream context", name_));
    thread_ = std::thread([this] { run(); });
  }

  ~NatsSink() override {
    try {
      close();
    } catch (...) {
    }
    jsCtx_Destroy(js_);
    natsConnection_Destroy(conn_);
    if (spool_fd_ >= 0) ::close(spool_fd_);
  }

  void write(std::string_view batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back({next_seq_++, std::string(batch)});
    ++queued_;
    cv_.notify_all();
  }

  void flush() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return handled_ == queued_; });
  }

  void close() override {
    if (closed_) return;
    flush();
    {
      std::unique_lock<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    // A last chance for the spool, for a few seconds, if the server is back.
    for (int i = 0; i < 10 && spooled_ && !replay(); ++i) {
      if (!connected()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    closed_ = true;
    log::info("{}: {} batches stored in stream {} ({} through the spool){}", name_, published_,
              stream_name(subject_), replayed_,
              spooled_ ? fmt::format("; {} batches still in the spool {}: the next run with this "
                                     "output replays them first",
                                     spool_count_, spool_path_)
                       : "");
  }

  const std::string& name() const override { return name_; }

 private:
  bool ensure_stream() {
    if (stream_ok_) return true;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, stream_name(subject_).c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND) {
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      const std::string name = stream_name(subject_);
      const char* subjects[] = {subject_.c_str()};
      cfg.Name = name.c_str();
      cfg.Subjects = subjects;
      cfg.SubjectsLen = 1;
      cfg.Storage = js_FileStorage;
      s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    }
    if (si) jsStreamInfo_Destroy(si);
    stream_ok_ = s == NATS_OK;
    return stream_ok_;
  }

  bool connected() const { return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED; }

  // Replay is tried only with a connection, and at most twice a second.
  bool may_replay() {
    if (!spooled_ || !connected()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_replay_) return false;
    next_replay_ = now + std::chrono::milliseconds(500);
    return true;
  }

  bool publish(const std::string& id, const std::string& data) {
    if (!connected() || !ensure_stream()) return false;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = id.c_str();
    po.MaxWait = kAckTimeoutMs;
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_Publish(&ack, js_, subject_.c_str(), data.data(),
                                    static_cast<int>(data.size()), &po, &jerr);
    if (ack) jsPubAck_Destroy(ack);
    return s == NATS_OK;
  }

  // The spool: records of [u32 id length][id][u32 data length][data], appended and fsynced.
  void spool(const std::string& id, const std::string& data) {
    std::string rec;
    const auto put = [&](const std::string& x) {
      const uint32_t n = static_cast<uint32_t>(x.size());
      rec.append(reinterpret_cast<const char*>(&n), 4);
      rec += x;
    };
    put(id);
    put(data);
    if (::write(spool_fd_, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size()) ||
        ::fsync(spool_fd_) != 0)
      throw RuntimeError(fmt::format("{}: cannot write the spool {}: {}", name_, spool_path_,
                                     std::strerror(errno)));
    spooled_ = true;
    ++spool_count_;
  }

  // Replays the spool in order from replay_off_; true once it is empty (and truncated).
  bool replay() {
    for (;;) {
      uint32_t n = 0;
      std::string id, data;
      const auto get = [&](std::string& x) {
        if (::pread(spool_fd_, &n, 4, replay_off_) != 4) return false;
        x.resize(n);
        if (::pread(spool_fd_, x.data(), n, replay_off_ + 4) != static_cast<ssize_t>(n))
          return false;
        replay_off_ += 4 + n;
        return true;
      };
      const off_t at = replay_off_;
      if (!get(id) || !get(data)) break;
      if (!publish(id, data)) {
        replay_off_ = at;
        return false;
      }
      ++replayed_;
      ++published_;
      if (spool_count_) --spool_count_;
    }
    if (::ftruncate(spool_fd_, 0) != 0) return false;
    replay_off_ = 0;
    spooled_ = false;
    spool_count_ = 0;
    return true;
  }

  void run() {
    for (;;) {
      Batch b;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500),
                     [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) {
          if (stop_) return;
          lock.unlock();
          if (may_replay()) replay();  // the server may be back
          continue;
        }
        b = std::move(queue_.front());
        queue_.pop_front();
      }
      const std::string id = fmt::format("{:016x}-{}", run_id_, b.seq);
      if (may_replay()) replay();
      if (spooled_ || !publish(id, b.data)) {
        if (!spooled_) log::info("{}: server away; spooling to {}", name_, spool_path_);
        spool(id, b.data);
      } else {
        ++published_;
      }
      std::unique_lock<std::mutex> lock(mu_);
      ++handled_;
      done_cv_.notify_all();
    }
  }

  std::string name_, server_, subject_, spool_path_;
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
  int spool_fd_ = -1;
  off_t replay_off_ = 0;
  uint64_t run_id_ = 0;
  bool stream_ok_ = false;
  std::chrono::steady_clock::time_point next_replay_{};
  bool spooled_ = false;
  bool closed_ = false;
  uint64_t spool_count_ = 0, published_ = 0, replayed_ = 0;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Batch> queue_;
  uint64_t next_seq_ = 0, queued_ = 0, handled_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Sink> make_nats_sink(const std::string& url) {
  return std::make_unique<NatsSink>(url);
}

void check_nats_url(const std::string& url) {
  split_url(url);
}

}  // namespace dpscan

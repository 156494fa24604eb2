// --output-spec nats:nats://[USER:PASS@]HOST:PORT/SUBJECT: ndjson batches published to a NATS
// JetStream stream (docs/design.md, decision 14; docs/cluster.md).
//
// write() hands each batch (whole records, at most about 64 KiB, at least once a second) to
// a publisher thread, so the main lcore never waits for the server. The thread publishes
// batches in order, each with a message id (this run's random id and the batch number), and
// waits for JetStream's acknowledgement: a batch retried after a lost acknowledgement is
// stored once (the stream's duplicate window). When a batch is not acknowledged in time, or
// the connection is down, it and every later batch are appended to a local spool file
// (SUBJECT.spool in the working directory, or $DPSCAN_NATS_SPOOL; fsynced, locked against a
// second process) and replayed in order, before any newer batch, once the server answers
// again; a spool left by a run that died is replayed by the next run with that output.
// mark()/settled() tell the main loop when every batch so far is acknowledged or fsynced in
// the spool: what a checkpoint needs.
#include "nats_sink.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "cluster/nats_client.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/text.hpp"
#include "encoder_base.hpp"
#include "engine/interrupts.hpp"

namespace dpscan {
namespace {

constexpr int64_t kAckTimeoutMs = 1000;
constexpr auto kCloseWait = std::chrono::seconds(30);
// Batches waiting for the publisher beyond this many (16 MiB) go to the spool: a cluster
// slower than the scan costs disk, not memory, and the order is kept.
constexpr size_t kMaxQueued = 256;
// Batches published before waiting for their acknowledgements (4 MiB).
constexpr size_t kWindow = 64;

struct Batch {
  uint64_t seq = 0;
  std::string id;  // the message id: this run's id and seq (or as read from the spool)
  std::string data;
};

std::pair<NatsUrl, std::string> split(const std::string& url) {
  NatsUrl u = parse_nats_url(url, "--output-spec nats");
  std::string subject = u.path;
  if (subject.empty())
    throw UsageError(
        fmt::format("--output-spec nats:{}: no /SUBJECT after the server", printable(url)));
  if (!nats_name_ok(subject, true))
    throw UsageError(
        fmt::format("--output-spec nats:{}: subject '{}' may hold letters, digits, '-', '_' and "
                    "'.' between them only",
                    printable(url), printable(subject)));
  return {std::move(u), std::move(subject)};
}

class NatsSink final : public Sink {
 public:
  explicit NatsSink(const OutputSpec& spec) {
    auto [url, subject] = split(spec.path);
    subject_ = subject;
    // Short in messages: the subject, and the first server (of how many).
    name_ = fmt::format(
        "nats:{} on {}{}", subject_, masked_servers(NatsUrl{{url.servers.front()}, url.tls, {}}),
        url.servers.size() > 1 ? fmt::format(" (+{})", url.servers.size() - 1) : "");
    stream_ = results_stream(subject_);
    replicas_ = spec.nats_replicas;
    wait_ = spec.nats_wait;
    const char* env = std::getenv("DPSCAN_NATS_SPOOL");
    spool_path_ = env && *env ? env : subject_ + ".spool";
    spool_fd_ = ::open(spool_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (spool_fd_ < 0)
      throw RuntimeError(fmt::format("{}: cannot open the spool {}: {}", name_, spool_path_,
                                     std::strerror(errno)));
    if (::flock(spool_fd_, LOCK_EX | LOCK_NB) != 0)
      throw RuntimeError(fmt::format(
          "{}: the spool {} is in use by another dpscan (give each its own working directory "
          "or DPSCAN_NATS_SPOOL)",
          name_, spool_path_));
    spool_count_ = count_spool();
    spooled_ = spool_count_ > 0;  // left by an earlier run: replayed first
    if (spooled_)
      log::info("{}: {} batches left in the spool {} by an earlier run: replayed first", name_,
                spool_count_, spool_path_);
    run_id_ = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
    client_ = std::make_unique<NatsClient>(url, NatsAuth{spec.nats_creds, spec.nats_ca}, name_,
                                           &async_errors_);
    if (!client_->ensure_stream(stream_, subject_, replicas_))
      log::warn(
          "{}: the server did not answer about stream {}; results go to the spool until "
          "it does",
          name_, stream_);
    else
      stream_ok_ = true;
    thread_ = std::thread([this] { run(); });
  }

  ~NatsSink() override {
    try {
      close();
    } catch (...) {
    }
    if (spool_fd_ >= 0) {
      // An empty spool is removed (while still locked: no other run is using it).
      if (!spooled_ && ::lseek(spool_fd_, 0, SEEK_END) == 0) ::unlink(spool_path_.c_str());
      ::close(spool_fd_);
    }
  }

  void write(std::string_view batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back({next_seq_++, {}, std::string(batch)});
    ++queued_;
    cv_.notify_all();
  }

  uint64_t mark() override {
    std::unique_lock<std::mutex> lock(mu_);
    return queued_;
  }
  bool settled(uint64_t ticket) const override { return handled_.load() >= ticket; }

  void flush() override {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return handled_.load() == queued_; });
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
    // Everything written is to reach the stream: the spool is replayed until it is empty. A
    // cluster worker's shard waits as long as it takes (its claim says done only then; a
    // second Ctrl-C gives up), a plain output for kCloseWait, then leaves the spool to the
    // next run and says so.
    const auto start = std::chrono::steady_clock::now();
    auto next_note = start + std::chrono::seconds(5);
    while (spooled_ && !replay()) {
      const auto now = std::chrono::steady_clock::now();
      if (interrupts().load() >= 2 || (!wait_ && now - start >= kCloseWait)) break;
      if (now >= next_note) {
        log::warn("{}: waiting for the server to take the {} batches in the spool {}", name_,
                  spool_count_, spool_path_);
        next_note = now + std::chrono::seconds(10);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    closed_ = true;
    log::info("{}: {} batches stored in stream {} ({} through the spool){}", name_, stored_,
              stream_, replayed_,
              spooled_ ? fmt::format("; {} batches still in the spool {}: the next run with this "
                                     "output replays them first",
                                     spool_count_, spool_path_)
                       : "");
  }

  const std::string& name() const override { return name_; }

  std::string report_json() const override {
    return fmt::format(
        R"("name":"{}","stream":"{}","subject":"{}","batches":{},"stored":{},"spooled":{},"replayed":{},)"
        R"("in_spool":{},"spool":"{}")",
        json_escape(name_), stream_, subject_, next_seq_, stored_, spooled_total_, replayed_,
        spool_count_, json_escape(spool_path_));
  }

 private:
  // Publishes a window of batches at once (asynchronously, each with its message id) and
  // waits for every acknowledgement: one round trip per window, not per batch. True when all
  // are stored; otherwise the caller spools the whole window (a batch that was stored anyway
  // is stored once more only outside the stream's duplicate window, and `collect` drops it).
  bool publish(const std::vector<const Batch*>& window) {
    if (!client_->connected()) return false;
    if (!stream_ok_) {
      try {
        stream_ok_ = client_->ensure_stream(stream_, subject_, replicas_);
      } catch (const RuntimeError& e) {
        log::warn("{}", e.what());
      }
      if (!stream_ok_) return false;
    }
    const uint64_t errors = async_errors_.load();
    bool ok = true;
    for (const Batch* b : window) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = b->id.c_str();
      if (js_PublishAsync(client_->js(), subject_.c_str(), b->data.data(),
                          static_cast<int>(b->data.size()), &po) != NATS_OK) {
        ok = false;
        break;
      }
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = kAckTimeoutMs;
    if (js_PublishAsyncComplete(client_->js(), &wait) != NATS_OK) ok = false;
    if (async_errors_.load() != errors) ok = false;
    if (!ok) {  // forget what is still pending: it is spooled
      natsMsgList pending{};
      if (js_PublishAsyncGetPendingList(&pending, client_->js()) == NATS_OK)
        natsMsgList_Destroy(&pending);
    }
    return ok;
  }

  // Replay is tried only with a connection, and at most twice a second.
  bool may_replay() {
    if (!spooled_ || !client_->connected()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now < next_replay_) return false;
    next_replay_ = now + std::chrono::milliseconds(500);
    return true;
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
    ++spooled_total_;
  }

  // Reads the record at `off` (false at the end, or at a torn record a crash left).
  bool read_record(off_t& off, std::string& id, std::string& data) const {
    const auto get = [&](std::string& x) {
      uint32_t n = 0;
      if (::pread(spool_fd_, &n, 4, off) != 4) return false;
      x.resize(n);
      if (::pread(spool_fd_, x.data(), n, off + 4) != static_cast<ssize_t>(n)) return false;
      off += 4 + n;
      return true;
    };
    const off_t at = off;
    if (get(id) && get(data)) return true;
    off = at;
    return false;
  }

  uint64_t count_spool() const {
    off_t off = 0;
    uint64_t n = 0;
    std::string id, data;
    while (read_record(off, id, data)) ++n;
    return n;
  }

  // Replays the spool in order from replay_off_, a window at a time; true once it is empty
  // (and truncated).
  bool replay() {
    for (;;) {
      std::vector<Batch> window;
      off_t off = replay_off_;
      Batch b;
      while (window.size() < kWindow && read_record(off, b.id, b.data)) window.push_back(b);
      if (window.empty()) break;
      std::vector<const Batch*> ptrs;
      for (const auto& w : window) ptrs.push_back(&w);
      if (!publish(ptrs)) return false;
      replay_off_ = off;
      replayed_ += window.size();
      stored_ += window.size();
      spool_count_ -= std::min<uint64_t>(spool_count_, window.size());
    }
    if (::ftruncate(spool_fd_, 0) != 0) return false;
    replay_off_ = 0;
    spooled_ = false;
    spool_count_ = 0;
    log::info("{}: the spool is replayed; publishing directly again", name_);
    return true;
  }

  void run() {
    try {
      loop();
    } catch (const std::exception& e) {
      log::error("{}", e.what());
      failed_ = true;
      std::unique_lock<std::mutex> lock(mu_);
      handled_ = queued_;  // nobody waits for a sink that cannot write
      done_cv_.notify_all();
    }
  }

  void loop() {
    for (;;) {
      std::vector<Batch> window;
      bool behind = false;
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
        while (!queue_.empty() && window.size() < kWindow) {
          window.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        behind = queue_.size() >= kMaxQueued;
      }
      for (auto& b : window) b.id = fmt::format("{:016x}-{}", run_id_, b.seq);
      if (may_replay() && !behind) replay();
      std::vector<const Batch*> ptrs;
      for (const auto& b : window) ptrs.push_back(&b);
      if (spooled_ || behind || !publish(ptrs)) {
        if (!spooled_)
          log::warn("{}: server {}; spooling to {}", name_,
                    behind ? "slower than the scan" : "away or slow", spool_path_);
        for (const auto& b : window) spool(b.id, b.data);
      } else {
        stored_ += window.size();
      }
      std::unique_lock<std::mutex> lock(mu_);
      handled_ += window.size();
      done_cv_.notify_all();
    }
  }

  std::string name_, subject_, stream_, spool_path_;
  int replicas_ = 1;
  bool wait_ = false;
  std::atomic<uint64_t> async_errors_{0};  // negative acknowledgements, timeouts
  std::unique_ptr<NatsClient> client_;
  int spool_fd_ = -1;
  off_t replay_off_ = 0;
  uint64_t run_id_ = 0;
  bool stream_ok_ = false;
  std::chrono::steady_clock::time_point next_replay_{};
  bool spooled_ = false;
  bool closed_ = false;
  bool failed_ = false;
  uint64_t spool_count_ = 0, stored_ = 0, replayed_ = 0, spooled_total_ = 0;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Batch> queue_;
  uint64_t next_seq_ = 0, queued_ = 0;
  std::atomic<uint64_t> handled_{0};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Sink> make_nats_sink(const OutputSpec& spec) {
  return std::make_unique<NatsSink>(spec);
}

void check_nats_output(const std::string& url) {
  split(url);
}

std::string results_stream(const std::string& subject) {
  std::string s = "DPSCAN_";
  for (char ch : subject) s += ch == '.' ? '_' : ch;
  return s;
}

}  // namespace dpscan

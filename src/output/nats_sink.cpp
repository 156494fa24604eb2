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
#include <sys/stat.h>
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
    throw UsageError(fmt::format("--output-spec nats:{}: no /SUBJECT after the server",
                                 printable(mask_url_credentials(url))));
  if (!nats_name_ok(subject, true))
    throw UsageError(
        fmt::format("--output-spec nats:{}: subject '{}' may hold letters, digits, '-', '_' and "
                    "'.' between them only",
                    printable(mask_url_credentials(url)), printable(subject)));
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
    // Results are the owner's alone (0600), also in a spool an earlier version left 0644.
    spool_fd_ = ::open(spool_path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat st {};
    if (spool_fd_ >= 0 && ::fstat(spool_fd_, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & 0777) != 0600 && ::fchmod(spool_fd_, 0600) != 0) {
      const int err = errno;
      ::close(spool_fd_);
      spool_fd_ = -1;
      errno = err;
    }
    if (spool_fd_ < 0)
      throw RuntimeError(fmt::format("{}: cannot open the spool {}: {}", name_, spool_path_,
                                     std::strerror(errno)));
    if (::flock(spool_fd_, LOCK_EX | LOCK_NB) != 0)
      throw RuntimeError(fmt::format(
          "{}: the spool {} is in use by another dpscan (give each its own working directory "
          "or DPSCAN_NATS_SPOOL)",
          name_, spool_path_));
    sync_directory_of(spool_path_);  // a checkpoint may count on it: its name must survive
    // Whole records only: a tail torn by a crash (or a full disk) is cut off.
    off_t end = 0;
    spool_count_ = count_spool(end);
    if (::lseek(spool_fd_, 0, SEEK_END) != end && ::ftruncate(spool_fd_, end) != 0)
      throw RuntimeError(fmt::format("{}: cannot repair the spool {}: {}", name_, spool_path_,
                                     std::strerror(errno)));
    spooled_ = spool_count_ > 0;  // left by an earlier run: replayed first
    if (spooled_)
      log::info("{}: {} batches left in the spool {} by an earlier run: replayed first", name_,
                spool_count_, spool_path_);
    run_prefix_ = fmt::format("{:08x}{:08x}-", std::random_device{}(), std::random_device{}());
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
    // Not closed by its owner: the run is failing. Replay what it can, but do not wait long
    // for a cluster that is away.
    wait_ = false;
    close_wait_ = std::chrono::seconds(3);
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
    fail_if_failed();
    queue_.push_back({next_seq_++, {}, std::string(batch)});
    ++queued_;
    cv_.notify_all();
  }

  uint64_t mark() override {
    std::unique_lock<std::mutex> lock(mu_);
    fail_if_failed();
    return queued_;
  }
  // A cluster shard's checkpoint (nats_wait) needs its results in the stream: another
  // machine may take the shard over from it, and this machine's spool would be lost to it.
  // A plain output's checkpoint is resumed here, where the spool is replayed first: fsynced
  // in the spool is enough.
  bool settled(uint64_t ticket) const override {
    return !failed_ && (wait_ ? acked_.load() : handled_.load()) >= ticket;
  }

  void flush() override {
    std::unique_lock<std::mutex> lock(mu_);
    while (!done_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] {
      return (wait_ ? acked_.load() : handled_.load()) == queued_ || failed_ ||
             interrupts().load() >= 2;
    })) {
    }
    fail_if_failed();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [&] { return handled_.load() == queued_ || failed_; });
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    {
      std::unique_lock<std::mutex> lock(mu_);
      fail_if_failed();
    }
    // Everything written is to reach the stream: the spool is replayed until it is empty. A
    // cluster worker's shard waits as long as it takes (its claim says done only then; a
    // second Ctrl-C gives up), a plain output for kCloseWait, then leaves the spool to the
    // next run and says so.
    const auto start = std::chrono::steady_clock::now();
    auto next_note = start + std::chrono::seconds(5);
    while (spooled_ && !replay(SIZE_MAX)) {
      const auto now = std::chrono::steady_clock::now();
      if (interrupts().load() >= 2 || (!wait_ && now - start >= close_wait_)) break;
      if (now >= next_note) {
        log::warn("{}: waiting for the server to take the {} batches in the spool {}", name_,
                  spool_count_, spool_path_);
        next_note = now + std::chrono::seconds(10);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
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

  // Replay is tried only with a connection, and half a second after a failed attempt.
  bool may_replay() const {
    return spooled_ && client_->connected() && std::chrono::steady_clock::now() >= next_replay_;
  }

  // The spool: records of [u32 magic][u32 id length][id][u32 data length][data], appended
  // and fsynced; a write that fails is cut off again, so the file holds whole records only.
  static constexpr uint32_t kMagic = 0x50535044;    // "DPSP"
  static constexpr uint32_t kMaxField = 64u << 20;  // no batch is near this: a torn length

  void spool(const Batch& b) {
    std::string rec;
    const auto put = [&](uint32_t n) { rec.append(reinterpret_cast<const char*>(&n), 4); };
    put(kMagic);
    put(static_cast<uint32_t>(b.id.size()));
    rec += b.id;
    put(static_cast<uint32_t>(b.data.size()));
    rec += b.data;
    const off_t before = ::lseek(spool_fd_, 0, SEEK_END);
    if (::write(spool_fd_, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size()) ||
        ::fsync(spool_fd_) != 0) {
      const int err = errno;
      if (before >= 0 && ::ftruncate(spool_fd_, before) != 0) {
        // the next run cuts the torn tail off (count_spool)
      }
      throw RuntimeError(
          fmt::format("{}: cannot write the spool {}: {}", name_, spool_path_, std::strerror(err)));
    }
    spooled_ = true;
    ++spool_count_;
    ++spooled_total_;
  }

  // Reads the record at `off` (false at the end, or at a torn or foreign tail).
  bool read_record(off_t& off, std::string& id, std::string& data) const {
    off_t at = off;
    const auto u32 = [&](uint32_t& v) {
      if (::pread(spool_fd_, &v, 4, at) != 4) return false;
      at += 4;
      return true;
    };
    const auto field = [&](std::string& x) {
      uint32_t n = 0;
      if (!u32(n) || n > kMaxField) return false;
      x.resize(n);
      if (::pread(spool_fd_, x.data(), n, at) != static_cast<ssize_t>(n)) return false;
      at += n;
      return true;
    };
    uint32_t magic = 0;
    if (!u32(magic) || magic != kMagic || !field(id) || !field(data)) return false;
    off = at;
    return true;
  }

  // The number of whole records, and where they end.
  uint64_t count_spool(off_t& end) const {
    end = 0;
    uint64_t n = 0;
    std::string id, data;
    while (read_record(end, id, data)) ++n;
    return n;
  }

  // Replays the spool in order from replay_off_, at most `windows` windows; true once it is
  // empty (and truncated). Batches of this run count as acknowledged as they are stored: the
  // spool holds them in order, after every earlier batch of this run that was not stored.
  bool replay(size_t windows) {
    for (size_t w = 0; w < windows; ++w) {
      std::vector<Batch> window;
      off_t off = replay_off_;
      Batch b;
      while (window.size() < kWindow && read_record(off, b.id, b.data)) window.push_back(b);
      if (window.empty()) break;
      std::vector<const Batch*> ptrs;
      for (const auto& x : window) ptrs.push_back(&x);
      if (!publish(ptrs)) {
        next_replay_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        return false;
      }
      replay_off_ = off;
      replayed_ += window.size();
      stored_ += window.size();
      spool_count_ -= std::min<uint64_t>(spool_count_, window.size());
      uint64_t ours = 0;
      for (const auto& x : window) ours += x.id.compare(0, run_prefix_.size(), run_prefix_) == 0;
      acked_ += ours;
      { std::lock_guard<std::mutex> lock(mu_); }  // a waiter in flush() sees it, or wakes
      done_cv_.notify_all();
    }
    if (spool_count_ > 0) return false;
    if (::ftruncate(spool_fd_, 0) != 0) return false;
    replay_off_ = 0;
    spooled_ = false;
    log::info("{}: the spool is replayed; publishing directly again", name_);
    return true;
  }

  // The publisher thread's failure (the spool cannot be written) becomes the run's error,
  // at the next write, mark or flush (held: mu_).
  void fail_if_failed() const {
    if (failed_) throw RuntimeError(error_);
  }

  void run() {
    try {
      loop();
    } catch (const std::exception& e) {
      std::unique_lock<std::mutex> lock(mu_);
      error_ = e.what();
      failed_ = true;
      done_cv_.notify_all();
    }
  }

  // Each pass takes a window of batches from the queue; while the spool holds anything,
  // they join it (in order) and one window of the spool is replayed, so that the queue
  // never waits for a whole replay: a cluster slower than the scan costs disk, not memory.
  void loop() {
    for (;;) {
      std::vector<Batch> window;
      bool behind = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        // With a spool to replay, no waiting (a window of it is replayed below).
        cv_.wait_for(lock, std::chrono::milliseconds(may_replay() ? 0 : 500),
                     [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty() && stop_) return;
        while (!queue_.empty() && window.size() < kWindow) {
          window.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        behind = queue_.size() >= kMaxQueued;
      }
      if (!window.empty()) {
        for (auto& b : window) b.id = run_prefix_ + std::to_string(b.seq);
        std::vector<const Batch*> ptrs;
        for (const auto& b : window) ptrs.push_back(&b);
        if (spooled_ || behind || !publish(ptrs)) {
          if (!spooled_)
            log::warn("{}: server {}; spooling to {}", name_,
                      behind ? "slower than the scan" : "away or slow", spool_path_);
          for (const auto& b : window) spool(b);
        } else {
          stored_ += window.size();
          acked_ += window.size();
        }
        std::unique_lock<std::mutex> lock(mu_);
        handled_ += window.size();
        done_cv_.notify_all();
      }
      if (may_replay()) replay(1);
    }
  }

  std::string name_, subject_, stream_, spool_path_;
  int replicas_ = 1;
  bool wait_ = false;
  std::chrono::seconds close_wait_ = kCloseWait;
  std::atomic<uint64_t> async_errors_{0};  // negative acknowledgements, timeouts
  std::unique_ptr<NatsClient> client_;
  int spool_fd_ = -1;
  off_t replay_off_ = 0;
  std::string run_prefix_;  // this run's message ids: RUN-SEQ
  bool stream_ok_ = false;
  std::chrono::steady_clock::time_point next_replay_{};
  bool spooled_ = false;
  bool closed_ = false;
  std::atomic<bool> failed_{false};
  std::string error_;
  uint64_t spool_count_ = 0, stored_ = 0, replayed_ = 0, spooled_total_ = 0;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Batch> queue_;
  uint64_t next_seq_ = 0, queued_ = 0;
  std::atomic<uint64_t> handled_{0};  // acknowledged or spooled
  std::atomic<uint64_t> acked_{0};    // this run's batches acknowledged by the stream
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

// --output-spec nats:nats://[USER:PASS@]HOST:PORT/SUBJECT: ndjson batches published to a NATS
// JetStream stream (docs/design.md, decision 14; docs/cluster.md).
//
// write() hands each batch (whole records, at most about 64 KiB, at least once a second) to
// a publisher thread, so the main lcore never waits for the server. The thread publishes
// windows of batches in order, each with a message id (this run's random id and the batch
// number), and waits for JetStream's acknowledgements: a batch retried after a lost
// acknowledgement is stored once (the stream's duplicate window; the acknowledgement says
// "duplicate", and `stored` does not count it). The deadline grows with the window's bytes;
// after a timeout the window shrinks to one batch and the deadline doubles. When a window is
// not acknowledged, or the connection is down, it and every later batch go to the spool
// (nats_spool.hpp), replayed in order, before any newer batch, once the server answers
// again; a spool left by a run that died is replayed by the next run with that output, from
// where it stopped. The queue of batches waiting for the publisher is bounded: when it is
// full, write() moves it to the spool itself.
//
// A refusal that waiting does not mend (a permissions violation, max_payload, a stream
// that does not take the subject or never acknowledges, a batch the stream refuses) ends
// the run with the server's text; its batches stay in the spool.
//
// mark()/settled() tell the main loop when every batch so far is acknowledged or fsynced in
// the spool: what a checkpoint needs.
#include "nats_sink.hpp"

#include <sys/stat.h>

#include <atomic>
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
#include "nats_spool.hpp"

namespace dpscan {
namespace {

// The acknowledgement deadline of a window: 1 s, and 1 s more per MiB of the window (1 MiB/s,
// a 14th of the slowest rate a 3-replica stream stored on a busy 2-vCPU machine,
// docs/benchmarks.md), doubled after each timeout in a row (up to 8x).
constexpr int64_t kAckBaseMs = 1000;
constexpr int64_t kAckMsPerMiB = 1000;
// A window of one batch not acknowledged this many times in a row, the last time within
// 8 x its deadline, while the stream answers requests: a stream that will never acknowledge.
constexpr int kGiveUpStreak = 4;
constexpr auto kCloseWait = std::chrono::seconds(30);
// Batches waiting for the publisher: from this many (8 MiB) on, the publisher spools a window
// instead of publishing it; at twice as many (16 MiB), write() moves the queue to the spool.
// A cluster slower than the scan costs disk, not memory, and the order is kept.
constexpr size_t kBehind = 128;
constexpr size_t kMaxQueued = 256;
// Batches published before waiting for their acknowledgements (4 MiB), at most.
constexpr size_t kWindow = 64;

using Batch = SpoolRecord;

// JetStream's refusals of a publication that waiting does not mend.
bool permanent(jsErrCode code) {
  return code == JSStreamMessageExceedsMaximumErr || code == JSStreamStoreFailedErr ||
         code == JSNotEnabledForAccountErr || code == JSStreamSealedErr;
}

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
    // The spool is keyed by the servers and the subject: never replayed elsewhere.
    const std::string key = masked_servers(url) + " " + subject_;
    const char* env = std::getenv("DPSCAN_NATS_SPOOL");
    spool_ = std::make_unique<NatsSpool>(
        env && *env ? std::string(env) : default_spool_path(key, subject_), key, name_);
    if (struct stat st{};
        !(env && *env) && ::stat((subject_ + ".spool").c_str(), &st) == 0 && st.st_size > 0)
      log::warn(
          "{}: {}.spool is a spool of an older dpscan (before the spool had a key and "
          "checksums): it is not replayed; replay it with the version that wrote it",
          name_, subject_);
    if (const uint64_t left = spool_->count())
      log::info("{}: {} batches left in the spool {} by an earlier run: replayed first", name_,
                left, spool_->path());
    run_prefix_ = fmt::format("{:08x}{:08x}-", std::random_device{}(), std::random_device{}());
    client_ =
        std::make_unique<NatsClient>(url, NatsAuth{spec.nats_creds, spec.nats_ca}, name_, &acks_);
    if (!client_->ensure_stream(stream_, subject_, replicas_, &dup_ns_))
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
    if (spool_) spool_->remove_if_empty();
  }

  void write(std::string_view batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    fail_if_failed();
    Batch b{run_prefix_ + std::to_string(next_seq_++), std::string(batch), 0};
    ++queued_;
    if (queue_.size() < kMaxQueued) {
      queue_.push_back(std::move(b));
      cv_.notify_all();
      return;
    }
    // Full (the publisher is stuck on a window): the window it holds, the queue and this
    // batch go to the spool, in order. The publisher leaves its window's fate to the spool.
    std::vector<const Batch*> recs;
    if (!inflight_spooled_)
      for (const auto& x : inflight_) recs.push_back(&x);
    for (const auto& x : queue_) recs.push_back(&x);
    recs.push_back(&b);
    spool_->append(recs);
    inflight_spooled_ = true;
    handled_ += recs.size();
    spooled_total_ += recs.size();
    ++overflows_;
    queue_.clear();
    if (overflows_ == 1)
      log::warn("{}: {} batches waiting for the server: spooling to {}", name_, recs.size(),
                spool_->path());
    done_cv_.notify_all();
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
    try {
      while (spool_->count() > 0 && !replay(SIZE_MAX)) {
        const auto now = std::chrono::steady_clock::now();
        if (interrupts().load() >= 2 || (!wait_ && now - start >= close_wait_)) break;
        if (now >= next_note) {
          log::warn("{}: waiting for the server to take the {} batches in the spool {}", name_,
                    spool_->count(), spool_->path());
          next_note = now + std::chrono::seconds(10);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    } catch (const std::exception& e) {
      std::unique_lock<std::mutex> lock(mu_);
      error_ = e.what();
      failed_ = true;
      fail_if_failed();
    }
    const uint64_t left = spool_->count();
    log::info(
        "{}: {} batches stored in stream {} ({} duplicates not counted; {} spooled, {} replayed, "
        "{} dropped as corrupt){}",
        name_, stored_.load(), stream_, duplicates_.load(), spooled_total_.load(), replayed_.load(),
        spool_->bad_records(),
        left ? fmt::format("; {} batches still in the spool {}: the next run with this output "
                           "replays them first",
                           left, spool_->path())
             : "");
  }

  const std::string& name() const override { return name_; }

  std::string report_json() const override {
    return fmt::format(
        R"("name":"{}","stream":"{}","subject":"{}","batches":{},"stored":{},"duplicates":{},)"
        R"("spooled":{},"replayed":{},"in_spool":{},"dropped":{},"dropped_bytes":{},)"
        R"("ack_timeouts":{},"queue_overflows":{},"replayed_after_dup_window":{},)"
        R"("dup_window_s":{},"spool":"{}")",
        json_escape(name_), stream_, subject_, next_seq_, stored_.load(), duplicates_.load(),
        spooled_total_.load(), replayed_.load(), spool_->count(), spool_->bad_records(),
        spool_->bad_bytes(), timeouts_.load(), overflows_, stale_.load(), dup_ns_ / 1000000000,
        json_escape(spool_->path()));
  }

 private:
  enum class Sent { kStored, kRetry };

  int64_t ack_deadline_ms(size_t bytes) const {
    const int64_t base =
        kAckBaseMs + static_cast<int64_t>(bytes) * kAckMsPerMiB / (int64_t{1} << 20);
    return base << std::min(streak_, kGiveUpStreak - 1);
  }

  // Publishes a window of batches at once (asynchronously, each with its message id) and
  // waits for every acknowledgement: one round trip per window, not per batch. kStored when
  // all are stored; kRetry when the caller is to spool (or keep) the window and try later;
  // throws RuntimeError for a refusal that waiting does not mend.
  Sent publish(const std::vector<const Batch*>& window) {
    if (!client_->connected()) return Sent::kRetry;
    if (!stream_ok_) {
      stream_ok_ = client_->ensure_stream(stream_, subject_, replicas_, &dup_ns_);
      if (!stream_ok_) return Sent::kRetry;
    }
    {
      std::lock_guard<std::mutex> lock(acks_.mu);
      acks_.stored = acks_.duplicates = acks_.errors = 0;
      acks_.error = NATS_OK;
      acks_.error_text.clear();
    }
    size_t bytes = 0, sent = 0;
    natsStatus s = NATS_OK;
    for (const Batch* b : window) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = b->id.c_str();
      s = js_PublishAsync(client_->js(), subject_.c_str(), b->data.data(),
                          static_cast<int>(b->data.size()), &po);
      if (s != NATS_OK) break;
      bytes += b->data.size();
      ++sent;
    }
    if (s == NATS_MAX_PAYLOAD) {
      forget_pending();
      throw RuntimeError(fmt::format(
          "{}: a batch of {} bytes is more than the server's max_payload ({} bytes): {}", name_,
          window[sent]->data.size(), natsConnection_GetMaxPayload(client_->conn()), nats_error(s)));
    }
    const int64_t deadline = ack_deadline_ms(bytes);
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = deadline;
    const natsStatus done = js_PublishAsyncComplete(client_->js(), &wait);
    if (done != NATS_OK) forget_pending();
    uint64_t stored = 0, dups = 0, errors = 0;
    natsStatus error = NATS_OK;
    jsErrCode code{};
    std::string text;
    {
      std::lock_guard<std::mutex> lock(acks_.mu);
      stored = acks_.stored;
      dups = acks_.duplicates;
      errors = acks_.errors;
      error = acks_.error;
      code = acks_.error_code;
      text = acks_.error_text;
    }
    // Counted as the stream answered, also for a window that goes to the spool anyway.
    stored_ += stored - dups;
    duplicates_ += dups;
    if (const std::string why = client_->refused(); !why.empty())
      throw RuntimeError(fmt::format("{}: the server refused: {}", name_, why));
    if (errors && permanent(code))
      throw RuntimeError(fmt::format("{}: stream {} refused a batch: {} (error {})", name_, stream_,
                                     text, static_cast<int>(code)));
    if (errors && error == NATS_NO_RESPONDERS) stream_ok_ = false;  // checked before a retry
    if (sent == window.size() && done == NATS_OK && errors == 0 && stored == window.size()) {
      streak_ = 0;
      window_ = std::min(kWindow, window_ * 2);
      return Sent::kStored;
    }
    if (done == NATS_TIMEOUT && client_->connected()) {
      ++timeouts_;
      ++streak_;
      // A single batch not acknowledged within the longest deadline, while the stream
      // answers a request at once: it will never be.
      if (window.size() == 1 && streak_ >= kGiveUpStreak &&
          client_->ensure_stream(stream_, subject_, replicas_, &dup_ns_))
        throw RuntimeError(fmt::format(
            "{}: stream {} answers requests but acknowledged no batch ({} bytes) within {} ms, "
            "{} times in a row: giving up",
            name_, stream_, bytes, deadline, streak_));
      window_ = 1;
    }
    if (errors && !text.empty())
      log::verbose("{}: a publication was refused ({}): spooled and tried again", name_, text);
    return Sent::kRetry;
  }

  void forget_pending() {
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, client_->js()) == NATS_OK)
      natsMsgList_Destroy(&pending);
  }

  // Replay is tried only with a connection, and half a second after a failed attempt.
  bool may_replay() const {
    return spool_->count() > 0 && client_->connected() &&
           std::chrono::steady_clock::now() >= next_replay_;
  }

  // Replays the spool in order from its replay position, at most `windows` windows; true
  // once it is empty. Batches of this run count as acknowledged as they are stored: the
  // spool holds them in order, after every earlier batch of this run that was not stored.
  bool replay(size_t windows) {
    for (size_t w = 0; w < windows; ++w) {
      std::vector<Batch> window;
      off_t next = 0;
      spool_->read(window_, window, next);
      if (window.empty()) break;
      std::vector<const Batch*> ptrs;
      for (const auto& x : window) ptrs.push_back(&x);
      if (publish(ptrs) != Sent::kStored) {
        next_replay_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        return false;
      }
      const uint64_t now = wall_ns();
      uint64_t stale = 0, ours = 0;
      for (const auto& x : window) {
        stale += dup_ns_ > 0 && now - x.time_ns > static_cast<uint64_t>(dup_ns_);
        ours += x.id.compare(0, run_prefix_.size(), run_prefix_) == 0;
      }
      if (stale && stale_ == 0)
        log::warn(
            "{}: replaying batches first published longer ago than stream {}'s duplicate window "
            "({} s): one that was stored before its acknowledgement was lost is stored twice "
            "(collect writes each pair once)",
            name_, stream_, dup_ns_ / 1000000000);
      stale_ += stale;
      spool_->consumed(next, window.size());
      replayed_ += window.size();
      acked_ += ours;
      { std::lock_guard<std::mutex> lock(mu_); }  // a waiter in flush() sees it, or wakes
      done_cv_.notify_all();
    }
    if (spool_->count() > 0) return false;
    log::info("{}: the spool is replayed; publishing directly again", name_);
    return true;
  }

  // The publisher thread's failure (the spool cannot be written, a refusal) becomes the
  // run's error, at the next write, mark or flush (held: mu_).
  void fail_if_failed() const {
    if (failed_) throw RuntimeError(error_);
  }

  void run() {
    try {
      loop();
    } catch (const std::exception& e) {
      std::unique_lock<std::mutex> lock(mu_);
      // The window in hand and the queue are kept for the next run, in order.
      try {
        std::vector<const Batch*> recs;
        if (!inflight_spooled_)
          for (const auto& x : inflight_) recs.push_back(&x);
        for (const auto& x : queue_) recs.push_back(&x);
        spool_->append(recs);
        spooled_total_ += recs.size();
        queue_.clear();
      } catch (const std::exception&) {
      }
      error_ = e.what();
      failed_ = true;
      done_cv_.notify_all();
    }
  }

  // Each pass takes a window of batches from the queue; while the spool holds anything,
  // they join it (in order) and one window of the spool is replayed, so that the queue
  // never waits for a whole replay.
  void loop() {
    for (;;) {
      bool behind = false;
      std::vector<const Batch*> ptrs;
      {
        std::unique_lock<std::mutex> lock(mu_);
        // With a spool to replay, no waiting (a window of it is replayed below).
        cv_.wait_for(lock, std::chrono::milliseconds(may_replay() ? 0 : 500),
                     [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty() && stop_) return;
        const size_t n = std::min(queue_.size(), spool_->count() > 0 ? kWindow : window_);
        inflight_.assign(std::make_move_iterator(queue_.begin()),
                         std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
        inflight_spooled_ = false;
        behind = queue_.size() >= kBehind;
        // The stream's duplicate window runs from when it stored a batch, which can be as
        // early as its first publication: a batch's age at replay counts from then.
        const uint64_t now = wall_ns();
        for (auto& b : inflight_) {
          if (b.time_ns == 0) b.time_ns = now;
          ptrs.push_back(&b);
        }
      }
      if (!ptrs.empty()) {
        const bool to_spool = spool_->count() > 0 || behind;
        const Sent r = to_spool ? Sent::kRetry : publish(ptrs);
        std::unique_lock<std::mutex> lock(mu_);
        if (inflight_spooled_) {
          // write() moved it to the spool meanwhile (and counted it): replayed from there.
        } else if (r == Sent::kStored) {
          acked_ += ptrs.size();
          handled_ += ptrs.size();
        } else {
          if (spool_->count() == 0)
            log::warn("{}: server {}; spooling to {}", name_,
                      behind ? "slower than the scan" : "away or slow", spool_->path());
          spool_->append(ptrs);
          spooled_total_ += ptrs.size();
          handled_ += ptrs.size();
        }
        inflight_.clear();
        inflight_spooled_ = false;
        done_cv_.notify_all();
      }
      if (may_replay()) replay(1);
    }
  }

  std::string name_, subject_, stream_;
  int replicas_ = 1;
  bool wait_ = false;
  std::chrono::seconds close_wait_ = kCloseWait;
  PubAcks acks_;
  std::unique_ptr<NatsSpool> spool_;
  std::unique_ptr<NatsClient> client_;
  std::string run_prefix_;  // this run's message ids: RUN-SEQ
  bool stream_ok_ = false;
  int64_t dup_ns_ = 0;  // the stream's duplicate window
  // The publisher's: the window's size (halved to one batch after a timeout, doubled after
  // each success) and the timeouts in a row.
  size_t window_ = kWindow;
  int streak_ = 0;
  std::chrono::steady_clock::time_point next_replay_{};
  bool closed_ = false;
  std::atomic<bool> failed_{false};
  std::string error_;
  std::atomic<uint64_t> stored_{0}, duplicates_{0}, replayed_{0}, spooled_total_{0}, timeouts_{0},
      stale_{0};
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Batch> queue_;
  std::vector<Batch> inflight_;    // the window the publisher holds (mu_ to change it)
  bool inflight_spooled_ = false;  // write() spooled it meanwhile
  uint64_t next_seq_ = 0, queued_ = 0, overflows_ = 0;
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

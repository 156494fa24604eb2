// The JetStream sink's spool (nats_spool.cpp): batches that could not be stored yet, on local
// disk, in order, replayed to the stream later (docs/cluster.md, "Spool").
//
// The file starts with a header: a magic, the replay position (where the next record to
// replay starts; rewritten and fdatasynced after each replayed window, so a run killed
// mid-replay resumes there and does not republish the whole spool) and the key (the servers
// and the subject the batches are for: a spool is never replayed to another stream). Each
// record carries its length, the time it was first spooled and a CRC-32 of its contents.
// Records are appended and fsynced. A record that is torn (a crash while writing it) or
// corrupt (its CRC differs) is never dropped silently: it is reported with its offset,
// copied to SPOOL.bad and counted (bad_records(), bad_bytes()).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace dpscan {

// CLOCK_REALTIME in nanoseconds: a record's time_ns.
inline uint64_t wall_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

struct SpoolRecord {
  std::string id;        // the message id
  std::string data;      // the batch
  uint64_t time_ns = 0;  // when it was first published or spooled (CLOCK_REALTIME), 0 before
};

class NatsSpool {
 public:
  // Opens (creates 0600) and locks `path`; throws RuntimeError naming `who` when it cannot,
  // when another process holds it, or when it holds another key's batches.
  NatsSpool(std::string path, std::string key, std::string who);
  ~NatsSpool();
  NatsSpool(const NatsSpool&) = delete;
  NatsSpool& operator=(const NatsSpool&) = delete;

  // Appends the records, fsynced once; throws RuntimeError when it cannot (the file then
  // holds whole records only).
  void append(const std::vector<const SpoolRecord*>& records);
  // Up to n records from the replay position; `next` is the position after them.
  void read(size_t n, std::vector<SpoolRecord>& out, off_t& next) const;
  // The records read up to `next` are stored: the replay position moves there (persisted).
  // When nothing is left, the file is cut back to its header.
  void consumed(off_t next, uint64_t records);

  uint64_t count() const;  // records waiting
  uint64_t bad_records() const { return bad_records_; }
  uint64_t bad_bytes() const { return bad_bytes_; }
  const std::string& path() const { return path_; }
  // Removes the file when it holds nothing (at the end of a run).
  void remove_if_empty();

 private:
  void write_header();
  void scan();
  void quarantine(off_t off, off_t len, const char* why);

  std::string path_, key_, who_;
  int fd_ = -1;
  off_t header_end_ = 0;
  off_t replay_off_ = 0;
  uint64_t count_ = 0;
  uint64_t bad_records_ = 0, bad_bytes_ = 0;
  mutable std::mutex mu_;
};

// The default spool file of a subject on a server list: SUBJECT.HASH.spool, HASH from both.
std::string default_spool_path(const std::string& key, const std::string& subject);

}  // namespace dpscan

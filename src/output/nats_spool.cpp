#include "nats_spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/output.hpp"

namespace dpscan {
namespace {

constexpr char kFileMagic[8] = {'D', 'P', 'S', 'P', 'O', 'O', 'L', '2'};
constexpr off_t kPosOffset = 8;             // the replay position: u64 after the magic
constexpr off_t kFixedHeader = 24;          // magic, position, key length, key CRC
constexpr uint32_t kRecMagic = 0x52505344;  // "DSPR"
constexpr size_t kRecHeader = 24;           // magic, id length, data length, CRC, time
constexpr uint32_t kMaxField = 64u << 20;   // no batch is near this: a torn length

uint32_t crc(const void* p, size_t n, uint32_t c = 0) {
  return static_cast<uint32_t>(::crc32(c, static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

struct RecHeader {
  uint32_t magic, id_len, data_len, crc;
  uint64_t time_ns;
};
static_assert(sizeof(RecHeader) == kRecHeader);

uint32_t record_crc(const RecHeader& h, const std::string& id, const std::string& data) {
  uint32_t c = crc(&h.time_ns, sizeof h.time_ns);
  c = crc(id.data(), id.size(), c);
  return crc(data.data(), data.size(), c);
}

// Reads the record at `off` of a file `size` long. 1: a good record; 0: a whole record whose
// CRC differs; -1: no record can be framed here (a torn tail, or garbage). `end`: past it.
int read_at(int fd, off_t off, off_t size, SpoolRecord& r, off_t& end) {
  RecHeader h{};
  if (size - off < static_cast<off_t>(kRecHeader) ||
      ::pread(fd, &h, kRecHeader, off) != static_cast<ssize_t>(kRecHeader))
    return -1;
  if (h.magic != kRecMagic || h.id_len > kMaxField || h.data_len > kMaxField) return -1;
  end = off + static_cast<off_t>(kRecHeader) + h.id_len + h.data_len;
  if (end > size) return -1;
  r.id.resize(h.id_len);
  r.data.resize(h.data_len);
  if (::pread(fd, r.id.data(), h.id_len, off + static_cast<off_t>(kRecHeader)) !=
          static_cast<ssize_t>(h.id_len) ||
      ::pread(fd, r.data.data(), h.data_len, off + static_cast<off_t>(kRecHeader + h.id_len)) !=
          static_cast<ssize_t>(h.data_len))
    return -1;
  r.time_ns = h.time_ns;
  return record_crc(h, r.id, r.data) == h.crc ? 1 : 0;
}

off_t file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

}  // namespace

std::string default_spool_path(const std::string& key, const std::string& subject) {
  return fmt::format("{}.{:08x}.spool", subject, crc(key.data(), key.size()));
}

NatsSpool::NatsSpool(std::string path, std::string key, std::string who)
    : path_(std::move(path)), key_(std::move(key)), who_(std::move(who)) {
  // Results are the owner's alone (0600), also in a spool an earlier version left 0644.
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0600 &&
      ::fchmod(fd_, 0600) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    errno = err;
  }
  if (fd_ < 0)
    throw RuntimeError(
        fmt::format("{}: cannot open the spool {}: {}", who_, path_, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw RuntimeError(fmt::format(
        "{}: the spool {} is in use by another dpscan (give each its own working directory "
        "or DPSCAN_NATS_SPOOL)",
        who_, path_));
  }
  sync_directory_of(path_);  // a checkpoint may count on the spool: its name must survive
  header_end_ = kFixedHeader + static_cast<off_t>(key_.size());
  const off_t size = file_size(fd_);
  try {
    if (size == 0) {
      write_header();
      return;
    }
    char head[kFixedHeader] = {};
    uint32_t key_len = 0, key_crc = 0;
    if (size < kFixedHeader || ::pread(fd_, head, kFixedHeader, 0) != kFixedHeader ||
        std::memcmp(head, kFileMagic, sizeof kFileMagic) != 0)
      throw RuntimeError(fmt::format(
          "{}: {} is not a spool of this dpscan version ({} bytes): move it away, or replay "
          "it with the version that wrote it",
          who_, path_, size));
    std::memcpy(&key_len, head + 16, 4);
    std::memcpy(&key_crc, head + 20, 4);
    std::string theirs(key_len < kMaxField ? key_len : 0, '\0');
    if (::pread(fd_, theirs.data(), theirs.size(), kFixedHeader) !=
            static_cast<ssize_t>(theirs.size()) ||
        crc(theirs.data(), theirs.size()) != key_crc)
      throw RuntimeError(fmt::format(
          "{}: the spool {} has a corrupt header ({} bytes): move it away (its records are "
          "not replayed)",
          who_, path_, size));
    if (theirs != key_)
      throw RuntimeError(fmt::format(
          "{}: the spool {} holds batches for {}, not for this output ({}): give this output "
          "its own DPSCAN_NATS_SPOOL",
          who_, path_, theirs, key_));
    uint64_t pos = 0;
    std::memcpy(&pos, head + kPosOffset, 8);
    replay_off_ = static_cast<off_t>(pos);
    if (replay_off_ < header_end_ || replay_off_ > size) {
      log::error("{}: the spool {} has a replay position out of range ({}): replaying all of it",
                 who_, path_, pos);
      replay_off_ = header_end_;
    }
    scan();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

NatsSpool::~NatsSpool() {
  if (fd_ >= 0) ::close(fd_);
}

void NatsSpool::write_header() {
  std::string h(kFileMagic, sizeof kFileMagic);
  const uint64_t pos = static_cast<uint64_t>(header_end_);
  const uint32_t len = static_cast<uint32_t>(key_.size()), c = crc(key_.data(), key_.size());
  h.append(reinterpret_cast<const char*>(&pos), 8);
  h.append(reinterpret_cast<const char*>(&len), 4);
  h.append(reinterpret_cast<const char*>(&c), 4);
  h += key_;
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()) || ::fsync(fd_) != 0)
    throw RuntimeError(
        fmt::format("{}: cannot write the spool {}: {}", who_, path_, std::strerror(errno)));
  replay_off_ = header_end_;
  count_ = 0;
}

// Counts the records waiting, and sets aside what cannot be replayed: a record whose CRC
// differs is skipped (replay skips it too), a tail that cannot be framed is cut off.
void NatsSpool::scan() {
  const off_t size = file_size(fd_);
  off_t off = replay_off_, end = 0;
  SpoolRecord r;
  while (off < size) {
    end = 0;
    const int got = read_at(fd_, off, size, r, end);
    if (got < 0) {
      // Torn: a crash while it was written (its batch was never counted as spooled).
      const bool torn = size - off < static_cast<off_t>(kRecHeader) || end > size;
      quarantine(off, size - off, torn ? "a torn record" : "an unreadable record");
      if (::ftruncate(fd_, off) != 0)
        throw RuntimeError(
            fmt::format("{}: cannot repair the spool {}: {}", who_, path_, std::strerror(errno)));
      break;
    }
    if (got == 0)
      quarantine(off, end - off, "a corrupt record (its checksum differs)");
    else
      ++count_;
    off = end;
  }
  if (count_ == 0) write_header();  // only bad records were left: they are in SPOOL.bad
}

void NatsSpool::quarantine(off_t off, off_t len, const char* why) {
  const std::string bad = path_ + ".bad";
  std::string buf(static_cast<size_t>(len), '\0');
  const bool read = ::pread(fd_, buf.data(), buf.size(), off) == static_cast<ssize_t>(len);
  const int out = ::open(bad.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const bool kept = read && out >= 0 &&
                    ::write(out, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size()) &&
                    ::fsync(out) == 0;
  if (out >= 0) ::close(out);
  ++bad_records_;
  bad_bytes_ += static_cast<uint64_t>(len);
  log::error(
      "{}: the spool {}: {} at offset {} ({} bytes) is not replayed{} (bad records so "
      "far: {})",
      who_, path_, why, off, len, kept ? "; its bytes are kept in " + bad : "", bad_records_);
}

void NatsSpool::append(const std::vector<const SpoolRecord*>& records) {
  if (records.empty()) return;
  const uint64_t now = wall_ns();
  std::string buf;
  for (const SpoolRecord* r : records) {
    RecHeader h{kRecMagic, static_cast<uint32_t>(r->id.size()),
                static_cast<uint32_t>(r->data.size()), 0, r->time_ns ? r->time_ns : now};
    h.crc = record_crc(h, r->id, r->data);
    buf.append(reinterpret_cast<const char*>(&h), kRecHeader);
    buf += r->id;
    buf += r->data;
  }
  std::lock_guard<std::mutex> lock(mu_);
  const off_t end = file_size(fd_);
  if (end < 0 || ::pwrite(fd_, buf.data(), buf.size(), end) != static_cast<ssize_t>(buf.size()) ||
      ::fsync(fd_) != 0) {
    const int err = errno;
    if (end >= 0 && ::ftruncate(fd_, end) != 0) {
      // the next run cuts the torn tail off (scan), and reports it
    }
    throw RuntimeError(
        fmt::format("{}: cannot write the spool {}: {}", who_, path_, std::strerror(err)));
  }
  count_ += records.size();
}

void NatsSpool::read(size_t n, std::vector<SpoolRecord>& out, off_t& next) const {
  std::lock_guard<std::mutex> lock(mu_);
  const off_t size = file_size(fd_);
  off_t off = replay_off_, end = 0;
  SpoolRecord r;
  while (out.size() < n && off < size) {
    const int got = read_at(fd_, off, size, r, end);
    if (got < 0) break;  // cannot happen after scan(): appends are whole
    if (got > 0) out.push_back(r);
    off = end;  // a corrupt record was reported by scan(): skipped
  }
  next = off;
}

void NatsSpool::consumed(off_t next, uint64_t records) {
  std::lock_guard<std::mutex> lock(mu_);
  count_ -= std::min(count_, records);
  replay_off_ = next;
  if (count_ == 0 && next >= file_size(fd_)) {
    if (::ftruncate(fd_, header_end_) != 0) return;  // tried again after the next window
    replay_off_ = header_end_;
  }
  const uint64_t pos = static_cast<uint64_t>(replay_off_);
  if (::pwrite(fd_, &pos, 8, kPosOffset) != 8 || ::fdatasync(fd_) != 0)
    throw RuntimeError(
        fmt::format("{}: cannot write the spool {}: {}", who_, path_, std::strerror(errno)));
}

uint64_t NatsSpool::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void NatsSpool::remove_if_empty() {
  std::lock_guard<std::mutex> lock(mu_);
  // Removed while still locked: no other run is using it.
  if (fd_ >= 0 && count_ == 0 && file_size(fd_) <= header_end_) ::unlink(path_.c_str());
}

}  // namespace dpscan

// Sinks: where encoded results go (output.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/output.hpp"
#include "nats_sink.hpp"

namespace dpscan {
namespace {

// Where a line-based file's last whole record ends: after its last newline (0: none). A
// record torn by a crash (kill -9, a power loss) ends the file without one.
off_t whole_records_end(int fd, off_t size) {
  char buf[1 << 16];
  off_t end = size;
  while (end > 0) {
    const off_t from =
        end > static_cast<off_t>(sizeof buf) ? end - static_cast<off_t>(sizeof buf) : 0;
    const ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - from), from);
    if (n != end - from) return size;  // unreadable: leave it as it is
    for (ssize_t i = n; i > 0; --i)
      if (buf[i - 1] == '\n') return from + i;
    end = from;
  }
  return 0;
}

}  // namespace

// The file is created (if missing) at once, so an unwritable path fails before anything is
// sent, but an existing file is truncated only when the run writes to it or closes it: a run
// that fails during set-up leaves earlier results alone, and removes a file it created.
FileSink::FileSink(const std::string& path, bool append, bool private_file)
    : name_(path == "-" ? "standard output" : path), path_(path) {
  if (path == "-") {
    f_ = stdout;
    started_ = true;
  } else {
    struct stat st {};
    created_ = ::stat(path.c_str(), &st) != 0;
    // Appending reads the end back (a torn last record): read and write.
    const int fd =
        ::open(path.c_str(), O_CREAT | O_CLOEXEC | (append ? O_RDWR | O_APPEND : O_WRONLY),
               private_file ? 0600 : 0644);
    struct stat now {};
    const bool chmod_failed = fd >= 0 && private_file && ::fstat(fd, &now) == 0 &&
                              S_ISREG(now.st_mode) && ::fchmod(fd, 0600) != 0;
    if (fd < 0 || chmod_failed || !(f_ = ::fdopen(fd, "w"))) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      throw RuntimeError(fmt::format("cannot open '{}' for writing: {}", path, std::strerror(err)));
    }
    owned_ = true;
    struct stat opened {};
    regular_ = ::fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode);
    // Appending: nothing is ever truncated, and a file with a run's results in it goes on.
    if (append) {
      started_ = true;
      continuing_ = !created_ && S_ISREG(st.st_mode) && st.st_size > 0;
      // The formats that append are line-based: a torn last record is cut off (the resumed
      // run sends its probe again: the checkpoint is behind everything after it).
      const off_t whole = continuing_ ? whole_records_end(fd, st.st_size) : st.st_size;
      if (whole < st.st_size) {
        if (::ftruncate(fd, whole) != 0) {
          const int err = errno;
          std::fclose(f_);
          throw RuntimeError(
              fmt::format("cannot cut the torn last record of '{}': {}", path, std::strerror(err)));
        }
        log::warn("'{}' ended in a record torn by a crash: its {} bytes were cut off", path,
                  st.st_size - whole);
        continuing_ = whole > 0;
      }
    }
  }
  // glibc ignores the size when given no buffer, so give it one. Standard output outlives
  // this object, so its buffer is static.
  static char stdout_buffer[kBufferSize];
  char* buf = stdout_buffer;
  if (owned_) {
    buffer_ = std::make_unique<char[]>(kBufferSize);
    buf = buffer_.get();
  }
  std::setvbuf(f_, buf, _IOFBF, kBufferSize);
}

FileSink::~FileSink() {
  if (owned_ && f_) {
    std::fclose(f_);
    if (!started_ && created_) ::unlink(path_.c_str());
  }
}

void FileSink::start() {
  if (started_) return;
  started_ = true;
  struct stat st {};
  if (::fstat(::fileno(f_), &st) == 0 && !S_ISREG(st.st_mode)) return;  // /dev/null, a FIFO, ...
  if (::ftruncate(::fileno(f_), 0) != 0) {
    throw RuntimeError(fmt::format("cannot truncate {}: {}", name_, std::strerror(errno)));
  }
}

void FileSink::write(std::string_view batch) {
  start();
  // Only the main lcore writes an output: the stream's lock would only cost time.
  if (::fwrite_unlocked(batch.data(), 1, batch.size(), f_) != batch.size()) {
    throw RuntimeError(fmt::format("writing {} failed: {}", name_, std::strerror(errno)));
  }
}

void FileSink::flush() {
  if (std::fflush(f_) != 0 || std::ferror(f_)) {
    throw RuntimeError(fmt::format("writing {} failed: {}", name_, std::strerror(errno)));
  }
  if (!regular_) return;  // standard output, a FIFO, /dev/null: nothing to make durable
  if (::fdatasync(::fileno(f_)) != 0)
    throw RuntimeError(fmt::format("syncing {} failed: {}", name_, std::strerror(errno)));
  if (created_ && !dir_synced_) {
    sync_directory_of(path_);  // a new file's name is in its directory: not in fdatasync
    dir_synced_ = true;
  }
}

void sync_directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool ok = dfd >= 0 && ::fsync(dfd) == 0;
  const int err = errno;
  if (dfd >= 0) ::close(dfd);
  if (!ok)
    throw RuntimeError(
        fmt::format("syncing the directory of '{}' failed: {}", path, std::strerror(err)));
}

void FileSink::close() {
  start();
  flush();
  if (owned_) {
    owned_ = false;
    std::FILE* f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0) {
      throw RuntimeError(fmt::format("closing {} failed: {}", name_, std::strerror(errno)));
    }
  }
}

std::unique_ptr<Sink> make_sink(const OutputSpec& spec) {
  if (spec.nats) return make_nats_sink(spec);
  return std::make_unique<FileSink>(spec.path, spec.append);
}

Outputs::Outputs(const std::vector<OutputSpec>& specs, const OutputContext& ctx, bool dry_run) {
  for (const auto& spec : specs) {
    auto sink = make_sink(spec);
    OutputContext c = ctx;
    c.continuing = sink->continuing();
    outputs_.push_back({make_encoder(spec.format, c, dry_run), std::move(sink), {}});
  }
}

Outputs::Outputs(std::vector<Output> outputs) {
  for (auto& o : outputs) outputs_.push_back({std::move(o.encoder), std::move(o.sink), {}});
}

void Outputs::hand_over(Slot& o) {
  if (o.buffer.empty()) return;
  o.sink->write(o.buffer);
  o.buffer.clear();
}

void Outputs::begin() {
  for (auto& o : outputs_) o.encoder->begin(o.buffer);
}

void Outputs::flush() {
  for (auto& o : outputs_) {
    hand_over(o);
    o.sink->flush();
  }
}

std::vector<uint64_t> Outputs::mark() {
  std::vector<uint64_t> tickets;
  for (auto& o : outputs_) {
    hand_over(o);
    tickets.push_back(o.sink->mark());
  }
  return tickets;
}

bool Outputs::settled(const std::vector<uint64_t>& tickets) const {
  for (size_t i = 0; i < outputs_.size() && i < tickets.size(); ++i)
    if (!outputs_[i].sink->settled(tickets[i])) return false;
  return true;
}

void Outputs::hand_over_all() {
  for (auto& o : outputs_) hand_over(o);
}

std::vector<std::string> Outputs::reports() const {
  std::vector<std::string> out;
  for (const auto& o : outputs_) {
    const std::string r = o.sink->report_json();
    if (!r.empty()) out.push_back(r);
  }
  return out;
}

void Outputs::end() {
  for (auto& o : outputs_) {
    o.encoder->end(o.buffer);
    hand_over(o);
    o.sink->close();
  }
}

}  // namespace dpscan

#include "target/byte_source.hpp"

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"

namespace dpscan {
namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  size_t read(char* buf, size_t cap) override {
    for (;;) {
      const ssize_t n = ::read(fd_, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        throw RuntimeError(fmt::format("{}: read error: {}", path_, std::strerror(errno)));
      }
    }
  }

 private:
  int fd_;
  std::string path_;
};

class IstreamSource final : public ByteSource {
 public:
  explicit IstreamSource(std::istream& in) : in_(in) {}
  size_t read(char* buf, size_t cap) override {
    in_.read(buf, static_cast<std::streamsize>(cap));
    if (in_.bad()) throw RuntimeError("read error");
    return static_cast<size_t>(in_.gcount());
  }

 private:
  std::istream& in_;
};

// The compressed input of a decoder: blocks read from the raw source, starting with the
// bytes read to find the format.
class Input {
 public:
  static constexpr size_t kSize = 256 * 1024;
  explicit Input(std::unique_ptr<ByteSource> raw) : raw_(std::move(raw)), buf_(new char[kSize]) {}
  // Reads until `want` bytes are buffered or the raw source ends.
  void fill(size_t want) {
    while (len_ < want && !eof_) {
      const size_t n = raw_->read(buf_.get() + len_, kSize - len_);
      if (n == 0) eof_ = true;
      len_ += n;
    }
  }
  // Replaces what was consumed by the next block; false at the end.
  bool refill() {
    len_ = 0;
    fill(1);
    return len_ > 0;
  }
  char* data() { return buf_.get(); }
  const char* data() const { return buf_.get(); }
  size_t size() const { return len_; }
  bool eof() const { return eof_; }

 private:
  std::unique_ptr<ByteSource> raw_;
  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  bool eof_ = false;
};

[[noreturn]] void corrupt(const std::string& name, const char* format, std::string_view why) {
  throw UsageError(fmt::format("{}: not valid {} data ({})", name, format, why));
}
[[noreturn]] void truncated(const std::string& name, const char* format) {
  throw UsageError(fmt::format("{}: the {} data ends too early (a truncated file?)", name, format));
}

class PlainSource final : public ByteSource {
 public:
  explicit PlainSource(Input in) : in_(std::move(in)) {}
  size_t read(char* buf, size_t cap) override {
    if (pos_ == in_.size()) {
      if (!in_.refill()) return 0;
      pos_ = 0;
    }
    const size_t n = std::min(cap, in_.size() - pos_);
    std::memcpy(buf, in_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  Input in_;
  size_t pos_ = 0;
};

// RFC 1952 members through zlib's inflate; a member that ends is followed by another one or
// by the end of the file.
class GzipSource final : public ByteSource {
 public:
  GzipSource(Input in, std::string name) : in_(std::move(in)), name_(std::move(name)) {
    if (inflateInit2(&z_, 15 + 16) != Z_OK) throw RuntimeError("zlib: out of memory");
    set_input();
  }
  ~GzipSource() override { inflateEnd(&z_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  size_t read(char* buf, size_t cap) override {
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(cap, 1u << 30));
    const uInt avail = z_.avail_out;
    while (z_.avail_out == avail) {
      if (z_.avail_in == 0 && !in_.eof()) {
        in_.refill();
        set_input();
      }
      if (member_done_) {
        if (z_.avail_in == 0) return 0;  // the end of the last member is the end of the file
        inflateReset(&z_);
        member_done_ = false;
      }
      const int r = inflate(&z_, Z_NO_FLUSH);
      if (r == Z_STREAM_END) {
        member_done_ = true;
      } else if (r == Z_BUF_ERROR) {
        if (z_.avail_in == 0 && in_.eof()) truncated(name_, "gzip");
      } else if (r != Z_OK) {
        corrupt(name_, "gzip", z_.msg ? z_.msg : "inflate failed");
      }
    }
    return avail - z_.avail_out;
  }

 private:
  void set_input() {
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(in_.size());
  }
  Input in_;
  std::string name_;
  z_stream z_{};
  bool member_done_ = false;
};

// .xz streams through liblzma, concatenated streams included (LZMA_CONCATENATED). The memory
// limit refuses a header asking for a dictionary beyond what any xz preset uses (64 MiB at
// -9) by far, instead of allocating it.
class XzSource final : public ByteSource {
 public:
  static constexpr uint64_t kMemLimit = uint64_t{1} << 30;
  XzSource(Input in, std::string name) : in_(std::move(in)), name_(std::move(name)) {
    if (lzma_stream_decoder(&s_, kMemLimit, LZMA_CONCATENATED) != LZMA_OK) {
      throw RuntimeError("liblzma: cannot start a decoder");
    }
    set_input();
  }
  ~XzSource() override { lzma_end(&s_); }
  XzSource(const XzSource&) = delete;
  XzSource& operator=(const XzSource&) = delete;

  size_t read(char* buf, size_t cap) override {
    if (done_) return 0;
    s_.next_out = reinterpret_cast<uint8_t*>(buf);
    s_.avail_out = cap;
    while (s_.avail_out == cap && !done_) {
      if (s_.avail_in == 0 && !in_.eof()) {
        in_.refill();
        set_input();
      }
      const lzma_ret r = lzma_code(&s_, s_.avail_in == 0 && in_.eof() ? LZMA_FINISH : LZMA_RUN);
      if (r == LZMA_STREAM_END) {
        done_ = true;
      } else if (r == LZMA_BUF_ERROR) {
        truncated(name_, "xz");
      } else if (r != LZMA_OK) {
        corrupt(name_, "xz", why(r));
      }
    }
    return cap - s_.avail_out;
  }

 private:
  static const char* why(lzma_ret r) {
    switch (r) {
      case LZMA_MEMLIMIT_ERROR:
        return "its dictionary needs more than 1 GiB of memory";
      case LZMA_FORMAT_ERROR:
        return "not in the .xz format";
      case LZMA_OPTIONS_ERROR:
        return "unsupported options";
      case LZMA_DATA_ERROR:
        return "corrupt data";
      case LZMA_MEM_ERROR:
        return "out of memory";
      default:
        return "decoder error";
    }
  }
  void set_input() {
    s_.next_in = reinterpret_cast<const uint8_t*>(in_.data());
    s_.avail_in = in_.size();
  }
  Input in_;
  std::string name_;
  lzma_stream s_ = LZMA_STREAM_INIT;
  bool done_ = false;
};

// RFC 8878 frames (skippable frames included) through libzstd's streaming decoder, which
// goes on from one frame to the next by itself. Its default window limit (128 MiB) applies.
class ZstdSource final : public ByteSource {
 public:
  ZstdSource(Input in, std::string name)
      : in_(std::move(in)), name_(std::move(name)), d_(ZSTD_createDCtx()) {
    if (!d_) throw RuntimeError("libzstd: out of memory");
    zin_ = {in_.data(), in_.size(), 0};
  }
  ~ZstdSource() override { ZSTD_freeDCtx(d_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  size_t read(char* buf, size_t cap) override {
    ZSTD_outBuffer out{buf, cap, 0};
    for (;;) {
      if (zin_.pos == zin_.size && !in_.eof()) {
        in_.refill();
        zin_ = {in_.data(), in_.size(), 0};
      }
      // Nothing left to read and the last frame complete and flushed: the end.
      if (zin_.pos == zin_.size && in_.eof() && pending_ == 0) return out.pos;
      const size_t before = zin_.pos;
      const size_t r = ZSTD_decompressStream(d_, &out, &zin_);
      if (ZSTD_isError(r)) corrupt(name_, "zstd", ZSTD_getErrorName(r));
      pending_ = r;  // 0 once a frame is complete and all of it handed out
      if (out.pos > 0) return out.pos;
      if (zin_.pos == before && zin_.size == zin_.pos && in_.eof()) truncated(name_, "zstd");
    }
  }

 private:
  Input in_;
  std::string name_;
  ZSTD_DCtx* d_;
  ZSTD_inBuffer zin_{};
  size_t pending_ = 0;
};

bool starts_with(const Input& in, std::initializer_list<unsigned char> magic) {
  if (in.size() < magic.size()) return false;
  size_t i = 0;
  for (const unsigned char m : magic) {
    if (static_cast<unsigned char>(in.data()[i++]) != m) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<ByteSource> file_source(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw UsageError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw UsageError(fmt::format("cannot read '{}': it is a directory", path));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::make_unique<FileSource>(fd, path);
}

std::unique_ptr<ByteSource> istream_source(std::istream& in) {
  return std::make_unique<IstreamSource>(in);
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

std::unique_ptr<ByteSource> decoded_source(std::unique_ptr<ByteSource> raw, const std::string& name,
                                           Compression* found) {
  Input in(std::move(raw));
  in.fill(6);
  Compression c = Compression::kNone;
  if (starts_with(in, {0x1f, 0x8b})) {
    c = Compression::kGzip;
  } else if (starts_with(in, {0xfd, '7', 'z', 'X', 'Z', 0x00})) {
    c = Compression::kXz;
  } else if (starts_with(in, {0x28, 0xb5, 0x2f, 0xfd})) {
    c = Compression::kZstd;
  } else if (starts_with(in, {'B', 'Z', 'h'}) || starts_with(in, {0x04, 0x22, 0x4d, 0x18})) {
    throw UsageError(fmt::format(
        "{}: compressed with {}, which is not read: use gzip, xz or zstd, or no compression", name,
        in.data()[0] == 'B' ? "bzip2" : "lz4"));
  }
  if (found) *found = c;
  switch (c) {
    case Compression::kGzip:
      return std::make_unique<GzipSource>(std::move(in), name);
    case Compression::kXz:
      return std::make_unique<XzSource>(std::move(in), name);
    case Compression::kZstd:
      return std::make_unique<ZstdSource>(std::move(in), name);
    case Compression::kNone:
      break;
  }
  return std::make_unique<PlainSource>(std::move(in));
}

}  // namespace dpscan

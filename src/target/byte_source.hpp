// Streams of bytes read in blocks, for files too big to hold (a hitlist of 10^8 addresses is
// 2-4 GB of text): a file, an istream (tests), or what zlib, liblzma or libzstd make of a
// compressed one. The compression is found from the first bytes (the formats' magic
// numbers), never from the file name.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <string>

namespace dpscan {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `cap` bytes into buf; 0 only at the end of the stream. Throws UsageError for data
  // that is not what its format says (corrupt, truncated) and RuntimeError for a failing read.
  virtual size_t read(char* buf, size_t cap) = 0;
};

// The file at `path`; UsageError when it cannot be opened or is a directory.
std::unique_ptr<ByteSource> file_source(const std::string& path);
// The rest of `in` (which must outlive the source).
std::unique_ptr<ByteSource> istream_source(std::istream& in);

enum class Compression { kNone, kGzip, kXz, kZstd };
const char* compression_name(Compression c);  // "none", "gzip", "xz", "zstd"

// `raw` decompressed as its first bytes say: gzip (1f 8b, RFC 1952), xz (fd 37 7a 58 5a 00)
// or zstd (28 b5 2f fd, RFC 8878); anything else is passed through as it is. Concatenated
// members and frames are read one after the other, as gzip -d, xz -d and zstd -d do. A file
// compressed with bzip2 or lz4 is a UsageError that names the formats taken. `name` is used
// in error messages.
std::unique_ptr<ByteSource> decoded_source(std::unique_ptr<ByteSource> raw, const std::string& name,
                                           Compression* found);

}  // namespace dpscan

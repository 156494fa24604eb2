#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/output.hpp"

namespace dpscan {

OutputFile::OutputFile(const std::string& path) : name_(path == "-" ? "standard output" : path) {
  if (path == "-") {
    f_ = stdout;
  } else {
    f_ = std::fopen(path.c_str(), "w");
    if (!f_)
      throw RuntimeError(
          fmt::format("cannot open '{}' for writing: {}", path, std::strerror(errno)));
    owned_ = true;
  }
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

OutputFile::~OutputFile() {
  if (owned_ && f_) std::fclose(f_);
}

void OutputFile::write(const char* data, size_t len) {
  if (std::fwrite(data, 1, len, f_) != len) {
    throw RuntimeError(fmt::format("writing {} failed: {}", name_, std::strerror(errno)));
  }
}

void OutputFile::flush() {
  if (std::fflush(f_) != 0 || std::ferror(f_)) {
    throw RuntimeError(fmt::format("writing {} failed: {}", name_, std::strerror(errno)));
  }
}

void OutputFile::close() {
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

}  // namespace dpscan

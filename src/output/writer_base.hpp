// Shared by the writers: a line-at-a-time base class, JSON string escaping, the xml factory.
#pragma once

#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "dpscan/ipv4.hpp"
#include "dpscan/output.hpp"

namespace dpscan {

class LineWriter : public ResultWriter {
 public:
  explicit LineWriter(OutputFile& out) : out_(out) {}

 protected:
  template <typename... Args>
  void line(fmt::format_string<Args...> f, Args&&... args) {
    buf_.clear();
    fmt::format_to(std::back_inserter(buf_), f, std::forward<Args>(args)...);
    buf_.push_back('\n');
    out_.write(buf_.data(), buf_.size());
  }
  static std::string_view ip(uint32_t v, char* tmp) { return {tmp, format_ipv4(v, tmp)}; }
  OutputFile& out_;
  fmt::memory_buffer buf_;
};

std::string json_escape(const std::string& s);
std::unique_ptr<ResultWriter> make_xml_writer(OutputFile& out, const WriterContext& ctx,
                                              bool dry_run);

}  // namespace dpscan

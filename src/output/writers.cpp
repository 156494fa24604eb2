// The result formats. Each builds its line in a small buffer and hands it to OutputFile.
//   csv     header "ip,port,status,ttl,window,timestamp" (dry run: "ip,port")
//   ndjson  one JSON object per line
//   list    masscan's -oL: "#masscan", "open tcp 80 1.2.3.4 1700000000", "# end"
#include <iterator>

#include <fmt/format.h>

#include "dpscan/ipv4.hpp"
#include "dpscan/output.hpp"

namespace dpscan {
namespace {

class Writer : public ResultWriter {
 public:
  explicit Writer(OutputFile& out) : out_(out) {}

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

class CsvWriter final : public Writer {
 public:
  CsvWriter(OutputFile& out, bool dry_run) : Writer(out), dry_run_(dry_run) {}
  void begin() override {
    if (dry_run_)
      line("ip,port");
    else
      line("ip,port,status,ttl,window,timestamp");
  }
  void result(const Result& r) override {
    char t[16];
    line("{},{},{},{},{},{}", ip(r.ip, t), r.port, status_name(r.status), r.ttl, r.window,
         r.time_s);
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line("{},{}", ip(a, t), port);
  }
  void end() override {}

 private:
  bool dry_run_;
};

class NdjsonWriter final : public Writer {
 public:
  using Writer::Writer;
  void begin() override {}
  void result(const Result& r) override {
    char t[16];
    line(R"({{"ip":"{}","port":{},"status":"{}","ttl":{},"window":{},"timestamp":{}}})",
         ip(r.ip, t), r.port, status_name(r.status), r.ttl, r.window, r.time_s);
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line(R"({{"ip":"{}","port":{}}})", ip(a, t), port);
  }
  void end() override {}
};

class ListWriter final : public Writer {
 public:
  using Writer::Writer;
  void begin() override { line("#masscan"); }
  void result(const Result& r) override {
    char t[16];
    line("{} tcp {} {} {}", status_name(r.status), r.port, ip(r.ip, t), r.time_s);
  }
  void probe(uint32_t a, uint16_t port) override {
    char t[16];
    line("probe tcp {} {} 0", port, ip(a, t));
  }
  void end() override { line("# end"); }
};

}  // namespace

std::unique_ptr<ResultWriter> make_writer(OutputFormat format, OutputFile& out, bool dry_run) {
  switch (format) {
    case OutputFormat::kCsv:
      return std::make_unique<CsvWriter>(out, dry_run);
    case OutputFormat::kNdjson:
      return std::make_unique<NdjsonWriter>(out);
    case OutputFormat::kList:
      return std::make_unique<ListWriter>(out);
  }
  return nullptr;
}

}  // namespace dpscan

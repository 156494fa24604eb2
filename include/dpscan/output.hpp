// Result writers. One per output; the main lcore calls them (never the per-packet path).
// Write errors (disk full, closed pipe) throw RuntimeError naming the file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dpscan/plan.hpp"
#include "dpscan/result.hpp"

namespace dpscan {

// An output file, or standard output for "-", with a large buffer and checked writes.
class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::FILE* get() const { return f_; }
  const std::string& name() const { return name_; }
  void write(const char* data, size_t len);
  void flush();  // throws RuntimeError on failure
  void close();  // flush, and close unless it is standard output

 private:
  void start();  // truncates an existing file, once, before the first byte

  static constexpr size_t kBufferSize = 1 << 20;
  std::unique_ptr<char[]> buffer_;  // declared before f_: fclose() in ~OutputFile runs first
  std::FILE* f_ = nullptr;
  std::string name_;
  std::string path_;
  bool owned_ = false;
  bool created_ = false;
  bool started_ = false;
};

// What writers need to know about the scan besides its results.
struct WriterContext {
  std::string scan_name;                // ndjson/csv "scan" field, xml
  std::vector<std::string> csv_fields;  // empty: the default columns
  std::string command_line;             // xml nmaprun args
  std::vector<uint16_t> ports;          // xml scaninfo
  double start_time = 0;                // Unix seconds
};

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void begin() = 0;
  virtual void result(const Result& r) = 0;
  virtual void probe(uint32_t ip, uint16_t port) = 0;  // --dry-run records
  virtual void end() = 0;
};

std::unique_ptr<ResultWriter> make_writer(OutputFormat format, OutputFile& out,
                                          const WriterContext& ctx, bool dry_run);

// The csv columns a user may choose (--output-fields); throws UsageError for others.
std::vector<std::string> parse_output_fields(const std::string& list);

// All outputs of one scan: each a format and a file, written together. Files are opened
// (and checked) at construction; end() finishes every format and closes the files.
class Outputs {
 public:
  Outputs(const std::vector<OutputSpec>& specs, const WriterContext& ctx, bool dry_run);
  void begin();
  void result(const Result& r);
  void probe(uint32_t ip, uint16_t port);
  void flush();  // before a checkpoint: what it claims is on disk (or in the pipe)
  void end();

 private:
  std::vector<std::unique_ptr<OutputFile>> files_;
  std::vector<std::unique_ptr<ResultWriter>> writers_;
};

}  // namespace dpscan

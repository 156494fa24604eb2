// Results out of a scan as an encoder plus a sink (docs/design.md, decision 13). An encoder
// turns results into the bytes of one format and never does I/O; a sink takes those bytes in
// batches and puts them somewhere (a file, standard output, memory, later a stream), flushes,
// and reports its errors. Outputs pairs them, one pair per output of the scan. Only the main
// lcore uses them, never the per-packet path.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/ip_addr.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/result.hpp"

namespace dpscan {

// What encoders need to know about the scan besides its results.
struct OutputContext {
  std::string scan_name;                // ndjson/csv "scan" field, xml
  std::vector<std::string> csv_fields;  // empty: the module's default columns
  std::string command_line;             // xml nmaprun args
  std::vector<uint16_t> ports;          // xml scaninfo
  double start_time = 0;                // Unix seconds
  Proto protocol = Proto::kTcp;         // the probe module's (default columns, xml)
  std::string scan_type = "syn";        // nmap's scaninfo type (xml)
  std::vector<std::string> slot_names;  // UDP: the payload of each probe slot (Result::slot)
  bool continuing = false;              // the output already holds a run's results: no header again
};

// A dry run's record: one probe.
struct ProbeRecord {
  IpAddr ip;
  uint16_t port = 0;
  uint16_t slot = 0;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Each appends the bytes it produces to `out`.
  virtual void begin(std::string& out) = 0;
  virtual void result(const ResultView& r, std::string& out) = 0;
  virtual void probe(const ProbeRecord& p, std::string& out) = 0;  // --dry-run records
  virtual void end(std::string& out) = 0;
};

// csv, ndjson, list (masscan -oL), xml (nmap -oX); see src/output/encoders.cpp.
std::unique_ptr<Encoder> make_encoder(OutputFormat format, const OutputContext& ctx, bool dry_run);

// The csv columns a user may choose (--output-fields); throws UsageError for others.
std::vector<std::string> parse_output_fields(const std::string& list);
// The csv columns of a module's results when --output-fields is not given.
const std::vector<std::string>& default_output_fields(Proto protocol);

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view batch) = 0;
  // Returns once everything written so far is where this sink keeps it (a checkpoint claims
  // those results are safe).
  virtual void flush() = 0;
  virtual void close() = 0;  // flush and end
  virtual const std::string& name() const = 0;
  // flush() without waiting, for a sink that stores in the background: mark() returns a
  // ticket for everything written so far, settled(ticket) whether all of it is stored. A
  // checkpoint is written once its tickets are settled, so the main lcore never waits for a
  // server.
  virtual uint64_t mark() {
    flush();
    return 0;
  }
  virtual bool settled(uint64_t /*ticket*/) const { return true; }
  // What the sink did, for the summary's "outputs" (a JSON object's members), after close().
  virtual std::string report_json() const { return {}; }
  // Whether this run continues results the sink already holds (a resumed run appending to
  // a non-empty file): the encoder writes no header then.
  virtual bool continuing() const { return false; }
};

// A file, or standard output for "-", with a large buffer and checked writes. The file is
// created at once (an unwritable path fails before anything is sent), but an existing file
// is truncated only when the run writes to it or closes it. flush() makes a regular file's
// bytes durable (fdatasync, and the directory entry of a file this run created) before it
// returns: a checkpoint written after it is never ahead of the file after a power loss.
// Errors throw RuntimeError.
class FileSink final : public Sink {
 public:
  // append: add to an existing file (--resume) instead of replacing it. private_file: the
  // owner's alone (0600), also when the regular file existed with another mode (summaries).
  explicit FileSink(const std::string& path, bool append = false, bool private_file = false);
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;
  void write(std::string_view batch) override;
  void flush() override;
  void close() override;
  const std::string& name() const override { return name_; }
  bool continuing() const override { return continuing_; }

 private:
  void start();  // truncates an existing file, once, before the first byte

  static constexpr size_t kBufferSize = 1 << 20;
  std::unique_ptr<char[]> buffer_;  // declared before f_: fclose() in ~FileSink runs first
  std::FILE* f_ = nullptr;
  std::string name_;
  std::string path_;
  bool owned_ = false;
  bool created_ = false;
  bool started_ = false;
  bool continuing_ = false;
  bool regular_ = false;     // a regular file: flush() makes it durable (fdatasync)
  bool dir_synced_ = false;  // a file this run created: its directory entry made durable
};

// fsync()s the directory that holds `path`, so that a file created there survives a power
// loss by its name too; throws RuntimeError.
void sync_directory_of(const std::string& path);

// Keeps everything in memory: for tests and for callers that embed dpscan.
class MemorySink final : public Sink {
 public:
  explicit MemorySink(std::string name = "memory") : name_(std::move(name)) {}
  void write(std::string_view batch) override { data_.append(batch); }
  void flush() override { ++flushes_; }
  void close() override { closed_ = true; }
  const std::string& name() const override { return name_; }
  const std::string& data() const { return data_; }
  unsigned flushes() const { return flushes_; }
  bool closed() const { return closed_; }

 private:
  std::string name_;
  std::string data_;
  unsigned flushes_ = 0;
  bool closed_ = false;
};

// The sink an output spec names (a path, or "-").
std::unique_ptr<Sink> make_sink(const OutputSpec& spec);

// Every output of one scan. Encoded bytes collect in a buffer per output and go to its sink
// in batches of about kBatch bytes, and whenever flush() or end() is called.
class Outputs {
 public:
  struct Output {
    std::unique_ptr<Encoder> encoder;
    std::unique_ptr<Sink> sink;
  };
  static constexpr size_t kBatch = 64 * 1024;

  // Opens every sink of the specs (errors before anything is sent).
  Outputs(const std::vector<OutputSpec>& specs, const OutputContext& ctx, bool dry_run);
  explicit Outputs(std::vector<Output> outputs);

  void begin();
  void result(const ResultView& r) {
    for (auto& o : outputs_) {
      o.encoder->result(r, o.buffer);
      if (o.buffer.size() >= kBatch) hand_over(o);
    }
  }
  void result(const Result& r) { result(ResultView{r, {}}); }
  void probe(const ProbeRecord& p) {
    for (auto& o : outputs_) {
      o.encoder->probe(p, o.buffer);
      if (o.buffer.size() >= kBatch) hand_over(o);
    }
  }
  void flush();  // before a checkpoint: what it claims is in every sink
  // The same without waiting: tickets for everything so far, then whether they are settled.
  std::vector<uint64_t> mark();
  bool settled(const std::vector<uint64_t>& tickets) const;
  void hand_over_all();  // batches leave at least once a second (the main loop calls this)
  void end();
  // {"name":..., members of report_json()} for each sink that reports, after end().
  std::vector<std::string> reports() const;

 private:
  struct Slot {
    std::unique_ptr<Encoder> encoder;
    std::unique_ptr<Sink> sink;
    std::string buffer;
  };
  static void hand_over(Slot& o);
  std::vector<Slot> outputs_;
};

}  // namespace dpscan

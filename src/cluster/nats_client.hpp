// One connection to a NATS server (or cluster) with a JetStream context, as dpscan's results
// sink, cluster workers, `cluster status` and `collect` open it (docs/cluster.md).
//
// URLs are what NATS users write: nats://HOST:PORT, several servers separated by commas,
// nats://USER:PASS@HOST:PORT, tls://HOST:PORT; a credentials file (--nats-creds) and a CA
// file for TLS (--nats-ca) come from options. The first connection must succeed (a typo or a
// missing server is an error before anything is sent); after that the client reconnects on
// its own, for ever, and callers see failures as timeouts.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nats/nats.h>

namespace dpscan {

struct NatsAuth {
  std::string creds_file;  // --nats-creds: a user JWT and NKey seed (NATS' .creds)
  std::string ca_file;     // --nats-ca: the CA that signed the servers' certificates
};

struct NatsUrl {
  std::vector<std::string> servers;  // each nats://[USER:PASS@]HOST:PORT or tls://...
  bool tls = false;                  // any server is tls://
  std::string path;                  // what followed the server list after '/', if anything
};

// Throws UsageError naming `what` (the option or key) for a malformed URL.
NatsUrl parse_nats_url(const std::string& url, const std::string& what);

// The servers for messages: without passwords.
std::string masked_servers(const NatsUrl& url);

// Stream and subject names: letters, digits, '-' and '_' (and '.' between subject tokens).
bool nats_name_ok(const std::string& name, bool subject);

// JetStream's answers to asynchronous publications (js_PublishAsync), counted by libnats'
// thread for the publisher: stored (duplicates among them: already in the stream, the same
// message id within its duplicate window), and refusals with the first one's text.
struct PubAcks {
  std::mutex mu;
  uint64_t stored = 0, duplicates = 0, errors = 0;
  natsStatus error = NATS_OK;
  jsErrCode error_code{};
  std::string error_text;
};

// The duplicate window of the streams dpscan creates.
constexpr int64_t kDuplicateWindowNs = int64_t{120} * 1000000000;

class NatsClient {
 public:
  // Throws RuntimeError ("cannot connect to ...: <the server's reason>") when the first
  // connection fails: no server, wrong credentials, TLS refused.
  // acks: where the answers to asynchronous publications go (js_PublishAsync), if given.
  // A tls:// server anywhere in the URL, or a CA file, makes the connection TLS to every
  // server (libnats has one TLS setting per connection): never plaintext to a tls:// one.
  NatsClient(const NatsUrl& url, const NatsAuth& auth, const std::string& who,
             PubAcks* acks = nullptr);
  ~NatsClient();
  NatsClient(const NatsClient&) = delete;
  NatsClient& operator=(const NatsClient&) = delete;

  bool connected() const;
  natsConnection* conn() const { return conn_; }
  jsCtx* js() const { return js_; }
  const std::string& servers() const { return servers_text_; }

  // The stream named `stream` taking `subject`, created (file storage, `replicas` copies, a
  // 2-minute duplicate window) if it does not exist yet; its duplicate window in
  // *duplicates_ns. False when the server did not answer; throws RuntimeError when it
  // refused, or when the stream of that name does not take the subject or never acknowledges.
  bool ensure_stream(const std::string& stream, const std::string& subject, int replicas,
                     int64_t* duplicates_ns = nullptr);

  // The server's text of a permissions violation on this connection ("Permissions Violation
  // for Publish to ..."), or "".
  std::string refused() const;

 private:
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
  std::string servers_text_;
  mutable std::mutex async_mu_;
  std::string refused_;
};

// The text of the last libnats error of this thread, or natsStatus_GetText(s).
std::string nats_error(natsStatus s);

}  // namespace dpscan

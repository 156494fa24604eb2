#include "nats_client.hpp"

#include <cctype>
#include <mutex>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"

namespace dpscan {

std::string nats_error(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  if (!text || !*text) return natsStatus_GetText(s);
  std::string t = text;
  // libnats puts its source position first: "(conn.c:2088): No server available ..."
  if (t.front() == '(')
    if (const size_t end = t.find("): "); end != std::string::npos) t.erase(0, end + 3);
  return t;
}

bool nats_name_ok(const std::string& name, bool subject) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') continue;
    if (subject && ch == '.' && name[i - 1] != '.') continue;
    return false;
  }
  return true;
}

NatsUrl parse_nats_url(const std::string& url, const std::string& what) {
  const auto bad = [&](const std::string& why) {
    return UsageError(
        fmt::format("{}: '{}': {} (expected nats://[USER:PASS@]HOST:PORT[,HOST:PORT...]"
                    " or tls://...)",
                    what, printable(mask_url_credentials(url)), why));
  };
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw bad("no nats:// or tls://");
  const std::string first_scheme = url.substr(0, scheme_end);
  if (first_scheme != "nats" && first_scheme != "tls")
    throw bad(fmt::format("unknown scheme '{}'", first_scheme));
  NatsUrl u;
  std::string rest = url.substr(scheme_end + 3);
  // The path follows the last '/' that does not belong to a later server's "nats://".
  const size_t slash = rest.rfind('/');
  if (slash != std::string::npos && slash > 0 && rest[slash - 1] != '/') {
    u.path = rest.substr(slash + 1);
    rest.resize(slash);
  }
  size_t start = 0;
  for (;;) {
    const size_t comma = rest.find(',', start);
    std::string server = rest.substr(start, comma == std::string::npos ? comma : comma - start);
    // Each may give its own scheme (nats://a:4222,tls://b:4222) or not (nats://a:4222,b:4222:
    // the first one's). A server named tls:// is reached with TLS, whatever the others say.
    std::string scheme = first_scheme;
    if (const size_t s = server.find("://"); s != std::string::npos) {
      scheme = server.substr(0, s);
      if (scheme != "nats" && scheme != "tls")
        throw bad(fmt::format("unknown scheme '{}'", scheme));
      server = server.substr(s + 3);
    }
    u.tls = u.tls || scheme == "tls";
    const size_t at = server.rfind('@');
    const std::string hostport = at == std::string::npos ? server : server.substr(at + 1);
    const size_t colon = hostport.rfind(':');
    if (hostport.empty() || colon == 0) throw bad("no host");
    if (colon != std::string::npos) {
      const std::string port = hostport.substr(colon + 1);
      if (port.empty() || port.size() > 5 ||
          port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
          std::stoul(port) > 65535)
        throw bad(fmt::format("bad port '{}'", port));
    }
    u.servers.push_back(scheme + "://" + server);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return u;
}

std::string masked_servers(const NatsUrl& url) {
  std::string text;
  for (const auto& s : url.servers) {
    const size_t at = s.rfind('@');
    text += (text.empty() ? "" : ",") +
            (at == std::string::npos ? s : s.substr(0, s.find("://") + 3) + s.substr(at + 1));
  }
  return text;
}

NatsClient::NatsClient(const NatsUrl& url, const NatsAuth& auth, const std::string& who,
                       PubAcks* acks)
    : servers_text_(masked_servers(url)) {
  std::vector<const char*> servers;
  for (const auto& s : url.servers) servers.push_back(s.c_str());
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK)
    s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);  // the first connection
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);  // a stopped server noticed
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 3);
  // libnats has one TLS setting per connection, not one per server: a tls:// server anywhere
  // in the list, or a CA given (--nats-ca), makes every server TLS. A server that offers no
  // TLS is then not used (NATS' "secure connection required"): never plaintext in their place.
  if (s == NATS_OK && (url.tls || !auth.ca_file.empty())) s = natsOptions_SetSecure(opts, true);
  if (s == NATS_OK)
    s = natsOptions_SetErrorHandler(
        opts,
        [](natsConnection* nc, natsSubscription*, natsStatus err, void* self) {
          // A permissions violation, sent by the server asynchronously: its text is what a
          // publisher that waits for an acknowledgement in vain needs to say.
          if (err != NATS_NOT_PERMITTED) return;
          const char* text = nullptr;
          natsConnection_GetLastError(nc, &text);
          auto* client = static_cast<NatsClient*>(self);
          std::lock_guard<std::mutex> lock(client->async_mu_);
          client->refused_ = text && *text ? text : natsStatus_GetText(err);
        },
        this);
  if (s == NATS_OK && !auth.ca_file.empty())
    s = natsOptions_LoadCATrustedCertificates(opts, auth.ca_file.c_str());
  if (s == NATS_OK && !auth.creds_file.empty())
    s = natsOptions_SetUserCredentialsFromFiles(opts, auth.creds_file.c_str(), nullptr);
  if (s != NATS_OK) {
    const std::string why = nats_error(s);
    natsOptions_Destroy(opts);
    throw RuntimeError(fmt::format("{}: NATS options: {}", who, why));
  }
  s = natsConnection_Connect(&conn_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    std::string why = nats_error(s);
    if (s == NATS_SECURE_CONNECTION_WANTED || why.find("Secure Connection") != std::string::npos)
      why += url.tls ? " (a tls:// server makes every server of the URL TLS; no server offered "
                       "TLS, or none that libnats can use: one that requires it)"
                     : " (--nats-ca asks for TLS to every server; this one offers none, or "
                       "offers it without requiring it, which libnats cannot use)";
    throw RuntimeError(fmt::format("{}: cannot connect to {}: {}", who, servers_text_, why));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2000;  // a key-value request unanswered this long counts as no answer
  if (acks) {
    jo.PublishAsync.MaxPending = 256;
    jo.PublishAsync.AckHandler = [](jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                                    void* closure) {
      auto* a = static_cast<PubAcks*>(closure);
      {
        std::lock_guard<std::mutex> lock(a->mu);
        if (pa) {
          ++a->stored;
          a->duplicates += pa->Duplicate;
        } else if (pae) {
          ++a->errors;
          if (a->error_text.empty()) {
            a->error = pae->Err;
            a->error_code = pae->ErrCode;
            a->error_text =
                pae->ErrText && *pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err);
          }
        }
      }
      natsMsg_Destroy(msg);
    };
    jo.PublishAsync.AckHandlerClosure = acks;
  }
  if (natsConnection_JetStream(&js_, conn_, &jo) != NATS_OK) {
    natsConnection_Destroy(conn_);
    throw RuntimeError(fmt::format("{}: {}: no JetStream context", who, servers_text_));
  }
}

NatsClient::~NatsClient() {
  jsCtx_Destroy(js_);
  natsConnection_Destroy(conn_);
}

bool NatsClient::connected() const {
  return natsConnection_Status(conn_) == NATS_CONN_STATUS_CONNECTED;
}

bool NatsClient::ensure_stream(const std::string& stream, const std::string& subject, int replicas,
                               int64_t* duplicates_ns) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject.c_str()};
    cfg.Name = stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    cfg.Duplicates = kDuplicateWindowNs;
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) {  // another worker's: look at it
      s = js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &jerr);
    }
    // Refusals that waiting does not mend; anything else (a timeout, a cluster electing its
    // leaders) is tried again later, the batches going to the spool meanwhile.
    else if (s != NATS_OK &&
             (jerr == JSStreamSubjectOverlapErr || jerr == JSInsufficientResourcesErr ||
              jerr == JSStreamReplicasNotSupportedErr))
      throw RuntimeError(fmt::format("cannot create the JetStream stream {} on {}: {}", stream,
                                     servers_text_, nats_error(s)));
  }
  if (s == NATS_OK && si) {
    // A stream of that name that does not take the subject (a.b and a_b both map to
    // DPSCAN_a_b), or that never acknowledges: publishing to it could never succeed.
    const jsStreamConfig* cfg = si->Config;
    bool takes = false;
    std::string subjects;
    for (int i = 0; cfg && i < cfg->SubjectsLen; ++i) {
      takes = takes || subject == cfg->Subjects[i];
      subjects += (subjects.empty() ? "" : ",") + std::string(cfg->Subjects[i]);
    }
    const bool no_ack = cfg && cfg->NoAck;
    const int64_t dup = cfg ? cfg->Duplicates : 0;
    jsStreamInfo_Destroy(si);
    if (!takes)
      throw RuntimeError(fmt::format(
          "the JetStream stream {} on {} takes the subjects '{}', not '{}' (subjects that "
          "differ only in '.' and '_' share a stream name): use another subject",
          stream, servers_text_, printable(subjects), subject));
    if (no_ack)
      throw RuntimeError(fmt::format(
          "the JetStream stream {} on {} is configured no_ack: it never acknowledges a batch",
          stream, servers_text_));
    if (duplicates_ns) *duplicates_ns = dup;
    return true;
  }
  if (si) jsStreamInfo_Destroy(si);
  return s == NATS_OK;
}

std::string NatsClient::refused() const {
  std::lock_guard<std::mutex> lock(async_mu_);
  return refused_;
}

}  // namespace dpscan

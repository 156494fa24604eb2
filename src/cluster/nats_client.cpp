#include "nats_client.hpp"

#include <cctype>

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
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "nats" && scheme != "tls") throw bad(fmt::format("unknown scheme '{}'", scheme));
  NatsUrl u;
  u.tls = scheme == "tls";
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
    // Each may repeat the scheme (nats://a:4222,nats://b:4222) or not (nats://a:4222,b:4222).
    if (const size_t s = server.find("://"); s != std::string::npos) server = server.substr(s + 3);
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
                       std::atomic<uint64_t>* async_errors)
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
  if (s == NATS_OK && url.tls) s = natsOptions_SetSecure(opts, true);
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
    const std::string why = nats_error(s);
    throw RuntimeError(fmt::format("{}: cannot connect to {}: {}", who, servers_text_, why));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2000;  // a key-value request unanswered this long counts as no answer
  if (async_errors) {
    jo.PublishAsync.MaxPending = 256;
    jo.PublishAsync.ErrHandler = [](jsCtx*, jsPubAckErr*, void* counter) {
      static_cast<std::atomic<uint64_t>*>(counter)->fetch_add(1);
    };
    jo.PublishAsync.ErrHandlerClosure = async_errors;
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

bool NatsClient::ensure_stream(const std::string& stream, const std::string& subject,
                               int replicas) {
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
    cfg.Duplicates = int64_t{120} * 1000000000;  // nanoseconds
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr) s = NATS_OK;  // another worker's
    // Refusals that waiting does not mend; anything else (a timeout, a cluster electing its
    // leaders) is tried again later, the batches going to the spool meanwhile.
    else if (s != NATS_OK &&
             (jerr == JSStreamSubjectOverlapErr || jerr == JSInsufficientResourcesErr ||
              jerr == JSStreamReplicasNotSupportedErr))
      throw RuntimeError(fmt::format("cannot create the JetStream stream {} on {}: {}", stream,
                                     servers_text_, nats_error(s)));
  }
  if (si) jsStreamInfo_Destroy(si);
  return s == NATS_OK;
}

}  // namespace dpscan

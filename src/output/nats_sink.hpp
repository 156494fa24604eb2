// The JetStream results sink (nats_sink.cpp).
#pragma once

#include <memory>
#include <string>

#include "dpscan/output.hpp"

namespace dpscan {

// spec.path: nats://[USER:PASS@]HOST:PORT[,HOST:PORT...]/SUBJECT (or tls://...).
std::unique_ptr<Sink> make_nats_sink(const OutputSpec& spec);
void check_nats_output(const std::string& url);  // throws UsageError
// The stream a subject's results are stored in: DPSCAN_ and the subject, '.' as '_'.
std::string results_stream(const std::string& subject);

}  // namespace dpscan

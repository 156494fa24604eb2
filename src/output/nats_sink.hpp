// The JetStream results sink (nats_sink.cpp).
#pragma once

#include <memory>
#include <string>

#include "dpscan/output.hpp"

namespace dpscan {

std::unique_ptr<Sink> make_nats_sink(const std::string& url);  // nats://HOST:PORT/SUBJECT
void check_nats_url(const std::string& url);                   // throws UsageError
}  // namespace dpscan

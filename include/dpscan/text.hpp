// Text from the user's input, made safe to print: an error that quotes a line of a binary
// file given as --targets-file must not write control bytes to the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dpscan {

// `s` with every control byte, DEL and byte that is not part of valid UTF-8 written as \xNN
// (valid UTF-8 such as a file name in another script stays as it is). With `max`, text past
// that many input bytes becomes "...".
std::string printable(std::string_view s, size_t max = std::string_view::npos);

// `s` with the credentials of every URL in it masked, for logs, error messages, summaries
// and the XML's command line: scheme://USER:PASS@HOST becomes scheme://USER:***@HOST and
// scheme://TOKEN@HOST scheme://***@HOST, for each server of a list (nats://a:b@h1,c:d@h2).
// A URL ends at white space or a quote; its servers at its last '@'-free comma.
std::string mask_url_credentials(std::string_view s);

// `s` without the spaces, tabs, carriage returns and line feeds at either end.
std::string_view trim_space(std::string_view s);

}  // namespace dpscan

#include <doctest/doctest.h>

#include "dpscan/text.hpp"

using dpscan::printable;

TEST_CASE("printable escapes control bytes and invalid UTF-8, keeps valid UTF-8") {
  CHECK(printable("198.18.0.0/16") == "198.18.0.0/16");
  CHECK(printable(std::string_view("\x7f"
                                   "ELF\x02\x00",
                                   6)) == "\\x7fELF\\x02\\x00");
  CHECK(printable("a\tb\nc\x1b[2J") == "a\\x09b\\x0ac\\x1b[2J");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");                // é
  CHECK(printable("\xe2\x82\xac") == "\xe2\x82\xac");              // €
  CHECK(printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");      // U+1F600
  CHECK(printable("\xc3") == "\\xc3");                             // truncated sequence
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(printable("\xff\xfe") == "\\xff\\xfe");
  CHECK(printable("abcdef", 3) == "abc...");
  CHECK(printable("abc", 3) == "abc");
}

TEST_CASE("mask_url_credentials hides passwords and tokens of every server, nothing else") {
  using dpscan::mask_url_credentials;
  CHECK(mask_url_credentials("nats://alice:s3cret@127.0.0.1:4222") ==
        "nats://alice:***@127.0.0.1:4222");
  CHECK(mask_url_credentials("nats://t0ken@h:4222") == "nats://***@h:4222");
  CHECK(mask_url_credentials("nats://a:p1@h1:4222,b:p2@h2:4222/results") ==
        "nats://a:***@h1:4222,b:***@h2:4222/results");
  CHECK(mask_url_credentials("tls://a:p1@h1:4222,tls://b:p2@h2:4222") ==
        "tls://a:***@h1:4222,tls://b:***@h2:4222");
  // A password with '@' or '/' in it (NATS takes the last '@'), in a command line and JSON.
  CHECK(mask_url_credentials("dpscan -o nats:nats://u:p@ss/w@h:1/s --dry-run") ==
        "dpscan -o nats:nats://u:***@h:1/s --dry-run");
  CHECK(mask_url_credentials(R"({"path": "nats://u:pw@h:1/s"})") ==
        R"({"path": "nats://u:***@h:1/s"})");
  // No credentials: unchanged.
  CHECK(mask_url_credentials("nats://127.0.0.1:4222,127.0.0.2:4222") ==
        "nats://127.0.0.1:4222,127.0.0.2:4222");
  CHECK(mask_url_credentials("http://127.0.0.1:9100/metrics and a@b") ==
        "http://127.0.0.1:9100/metrics and a@b");
  CHECK(mask_url_credentials("") == "");
  CHECK(mask_url_credentials("://@") == "://***@");
}

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

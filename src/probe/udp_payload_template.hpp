// The template language of UDP payloads (docs/udp-payloads.md): literal bytes (raw, hex or
// escaped text) and {fields} filled per probe. Shared by users' payload specs and the
// built-in library's file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/udp_payload.hpp"

namespace dpscan::udp {

// A template error at character `pos` of the text handed to TemplateBuilder::append (the
// caller turns it into a UsageError naming the spec, or the file and line).
struct TemplateError : std::runtime_error {
  TemplateError(size_t at, const std::string& message) : std::runtime_error(message), pos(at) {}
  size_t pos;
};

// How the literal text between fields is written.
enum class Literal : uint8_t {
  kRaw,   // the bytes as they are (a payload file)
  kHex,   // hex digit pairs; spaces and tabs between pairs are ignored
  kText,  // text with \r \n \t \\ \xNN escapes
};

class TemplateBuilder {
 public:
  // addr_len: the length {dst} writes (4 or 16; another: {dst} is an error).
  explicit TemplateBuilder(size_t addr_len) : addr_len_(addr_len) {}

  // Appends `text`: literal bytes encoded as `lit`, {field}s, and {{ }} for literal braces.
  // Throws TemplateError.
  void append(std::string_view text, Literal lit);

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  std::vector<Field>& fields() { return fields_; }
  size_t cookie_used() const { return cookie_used_; }

 private:
  void literal(std::string_view text, size_t pos, Literal lit);
  void field(std::string_view name, size_t pos);
  void add(Field::Kind kind, size_t len, size_t src);
  size_t take_cookie(size_t n, std::string_view name, size_t pos);

  size_t addr_len_;
  std::vector<uint8_t> bytes_;
  std::vector<Field> fields_;
  size_t cookie_used_ = 0;
  size_t rand_used_ = 0;
};

}  // namespace dpscan::udp

#pragma once
// Encodings exactly as Go's standard library produces them, so that Cairn's bytes match what
// Consul clients and `consul` itself produce and accept.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace cairn {

// Go's encoding/json string encoding, with quotes: HTML-safe (<, >, & as \u00XX), control
// characters escaped, U+2028/U+2029 escaped, invalid UTF-8 as \ufffd.
std::string goJsonString(std::string_view text);

// Go's base64.StdEncoding (padded). Decoding ignores '\r' and '\n' as Go does; errors read
// "illegal base64 data at input byte N".
std::string base64Encode(std::string_view bytes);
StatusOr<std::string> base64Decode(std::string_view text);

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid UTF-8.
size_t utf8Length(std::string_view s, size_t i);

}  // namespace cairn

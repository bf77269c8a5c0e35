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

// Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
bool parseGoBool(std::string_view text, bool* out);
// Go's strconv.ParseInt/ParseUint with base 0 (decimal, 0x, 0o, 0b, leading-0 octal, `_`).
// Errors: "parse error" or "value out of range".
StatusOr<int64_t> parseGoInt(std::string_view text);
StatusOr<uint64_t> parseGoUint(std::string_view text);
// Go's %q rendering of a string, as Consul's error texts use it: "a\"b", control bytes as \xNN.
std::string goQuote(std::string_view text);

// Go's strconv.Unquote of a double-quoted string (what strconv.Quote and %q produce): \a \b \f
// \n \r \t \v \\ \" \xNN \NNN (octal) \uXXXX \UXXXXXXXX. Errors: kInvalidArgument "invalid syntax".
StatusOr<std::string> goUnquote(std::string_view quoted);

}  // namespace cairn

#pragma once
// Literals of filter expressions, with the semantics of the Go functions go-bexpr uses:
// strconv.Unquote for string literals, strconv.ParseBool / ParseInt(s, 0, 64) / ParseUint(s, 0,
// 64) / ParseFloat(s, 64) for coercing a raw value to the type of the field it is compared with.
// Pure functions; no exceptions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::filter::internal {

// Decodes the body of a double-quoted literal (without the quotes). Escapes: \a \b \f \n \r \t
// \v \\ \" \' is rejected as in Go, \xHH, \OOO (octal, <= 255), \uHHHH, \UHHHHHHHH (a valid,
// non-surrogate code point, emitted as UTF-8). A raw newline is rejected. nullopt on error.
std::optional<std::string> unquoteDouble(std::string_view body);

// The body of a backquoted literal: taken verbatim except that '\r' characters are dropped.
std::string unquoteRaw(std::string_view body);

// Go strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False.
std::optional<bool> parseBool(std::string_view raw);

// An integer in Go's base-0 syntax: optional sign, then 0x/0X (hex), 0o/0O or a leading 0
// (octal), 0b/0B (binary) or decimal digits; '_' only between digits or after a base prefix.
// The value is magnitude (up to 2^64-1) with a sign.
struct GoInteger {
  bool negative = false;
  bool explicit_sign = false;  // '+' or '-' was written: ParseUint rejects either.
  uint64_t magnitude = 0;
};
std::optional<GoInteger> parseInteger(std::string_view raw);

// True when `parsed` equals the signed / unsigned field value (ParseInt / ParseUint range rules).
bool integerEquals(const GoInteger& parsed, int64_t field);
bool integerEquals(const GoInteger& parsed, uint64_t field);

// Go strconv.ParseFloat(s, 64) for decimal forms (with exponent), "inf"/"infinity"/"nan" in any
// case with an optional sign; nullopt on error or out of range.
std::optional<double> parseFloat(std::string_view raw);

}  // namespace cairn::filter::internal

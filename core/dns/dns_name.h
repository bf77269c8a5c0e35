#pragma once
// Domain names in presentation form, as the codec exchanges them: labels separated by '.', an
// absolute name ends with '.', the root is ".". Inside a label '.' and '\' are written "\." and
// "\\", and bytes outside 0x21..0x7e as "\DDD" (decimal). Matching is ASCII case-insensitive.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::dns {

inline constexpr size_t kMaxLabelLength = 63;
inline constexpr size_t kMaxNameWireLength = 255;  // length octets and the root label included

// Presentation form of one raw label.
std::string escapeLabel(std::string_view raw);

// The raw labels of `name` (absolute or relative; "." and "" are the root). Fails on an empty
// label, a bad escape, a label longer than 63 bytes or a name longer than 255 bytes on the wire.
StatusOr<std::vector<std::string>> splitName(std::string_view name);

// Absolute presentation name from labels written as plain dotted text (catalog node names,
// addresses): every byte that needs it is escaped, except '.', which separates labels. Empty
// labels survive, so an unusable input fails later in splitName / encoding.
std::string dottedToName(std::string_view dotted);

// `name` with a trailing '.' added if missing.
std::string fqdn(std::string_view name);

std::string asciiLower(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// Textual IPv4/IPv6 address to its 4 or 16 raw bytes; empty when `text` is not an IP literal.
// An IPv4-mapped IPv6 address yields the 4 IPv4 bytes.
std::string parseIp(std::string_view text);
// Raw 4 or 16 bytes to canonical text (inet_ntop).
std::string formatIp(std::string_view raw);

}  // namespace cairn::dns

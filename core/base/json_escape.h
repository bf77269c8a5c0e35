#pragma once
// A string as a JSON string literal (quotes, backslash escapes, \u00XX for other control bytes),
// for code that writes JSON text without a JSON library (log lines, config values).

#include <string>
#include <string_view>

namespace cairn {

void appendJsonString(std::string& out, std::string_view s);

}  // namespace cairn

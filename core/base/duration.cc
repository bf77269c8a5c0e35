#include "core/base/duration.h"

#include <cstdint>
#include <limits>

namespace cairn {
namespace {

constexpr uint64_t kMaxNanos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// Nanoseconds per unit, or 0 when `unit` is not a Go duration unit.
uint64_t unitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return 0;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Status invalid(std::string_view text) {
  return invalidArgument("time: invalid duration \"" + std::string(text) + "\"");
}

// Reads one "<number><unit>" component from the front of `s` and adds it to `total`.
Status parseComponent(std::string_view& s, std::string_view text, uint64_t& total) {
  uint64_t whole = 0;
  size_t i = 0;
  for (; i < s.size() && isDigit(s[i]); ++i) {
    if (whole > (kMaxNanos - (s[i] - '0')) / 10) return invalid(text);
    whole = whole * 10 + (s[i] - '0');
  }
  bool has_whole = i > 0;
  uint64_t frac = 0, scale = 1;
  bool has_frac = false;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && isDigit(s[i]); ++i) {
      has_frac = true;
      if (scale <= kMaxNanos / 10) {  // Digits beyond ~19 places cannot change the result.
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
      }
    }
  }
  if (!has_whole && !has_frac) return invalid(text);
  size_t unit_start = i;
  while (i < s.size() && s[i] != '.' && !isDigit(s[i])) ++i;
  std::string_view unit = s.substr(unit_start, i - unit_start);
  if (unit.empty())
    return invalidArgument("time: missing unit in duration \"" + std::string(text) + "\"");
  uint64_t per = unitNanos(unit);
  if (per == 0)
    return invalidArgument("time: unknown unit \"" + std::string(unit) + "\" in duration \"" +
                           std::string(text) + "\"");
  if (whole > kMaxNanos / per) return invalid(text);
  uint64_t value = whole * per;
  value += static_cast<uint64_t>(static_cast<long double>(frac) * per / scale);
  if (value > kMaxNanos - total) return invalid(text);
  total += value;
  s.remove_prefix(i);
  return Status::ok();
}

}  // namespace

StatusOr<Nanos> parseGoDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Nanos(0);
  if (s.empty()) return invalid(text);
  uint64_t total = 0;
  while (!s.empty()) CAIRN_RETURN_IF_ERROR(parseComponent(s, text, total));
  int64_t signed_total = static_cast<int64_t>(total);
  return Nanos(negative ? -signed_total : signed_total);
}

namespace {

// Appends `v / 10^prec` with trailing zeros of the fraction trimmed, as Go's fmtFrac+fmtInt do.
void appendDecimal(std::string& out, uint64_t v, int prec) {
  uint64_t pow = 1;
  for (int i = 0; i < prec; ++i) pow *= 10;
  out += std::to_string(v / pow);
  uint64_t frac = v % pow;
  if (frac == 0) return;
  std::string digits(prec, '0');
  for (int i = prec - 1; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  out += '.';
  out += digits;
}

}  // namespace

std::string formatGoDuration(Nanos d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  std::string out;
  uint64_t u = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  if (n < 0) out += '-';
  if (u < 1'000'000'000) {
    if (u < 1'000) return out + std::to_string(u) + "ns";
    if (u < 1'000'000) {
      appendDecimal(out, u, 3);
      return out + "\xC2\xB5s";
    }
    appendDecimal(out, u, 6);
    return out + "ms";
  }
  uint64_t hours = u / 3'600'000'000'000;
  u -= hours * 3'600'000'000'000;
  uint64_t minutes = u / 60'000'000'000;
  u -= minutes * 60'000'000'000;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  appendDecimal(out, u, 9);
  return out + "s";
}

}  // namespace cairn

#include "core/dns/dns_name.h"

#include <arpa/inet.h>

#include <cstring>

namespace cairn::dns {
namespace {

char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

void appendEscapedByte(std::string& out, unsigned char c, bool escape_dot) {
  if ((c == '.' && escape_dot) || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c < 0x21 || c > 0x7e) {
    out += '\\';
    out += static_cast<char>('0' + c / 100);
    out += static_cast<char>('0' + (c / 10) % 10);
    out += static_cast<char>('0' + c % 10);
  } else {
    out += static_cast<char>(c);
  }
}

// Reads one escape at name[i] == '\\'; advances i past it.
bool readEscape(std::string_view name, size_t& i, char& out) {
  if (i + 1 >= name.size()) return false;
  if (!isDigit(name[i + 1])) {
    out = name[i + 1];
    i += 2;
    return true;
  }
  if (i + 3 >= name.size() || !isDigit(name[i + 2]) || !isDigit(name[i + 3])) return false;
  int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
  if (v > 255) return false;
  out = static_cast<char>(v);
  i += 4;
  return true;
}

Status finishLabel(std::string& label, size_t& wire, std::vector<std::string>& labels) {
  if (label.empty()) return invalidArgument("empty label in name");
  if (label.size() > kMaxLabelLength) return invalidArgument("label longer than 63 bytes");
  wire += label.size() + 1;
  if (wire > kMaxNameWireLength) return invalidArgument("name longer than 255 bytes");
  labels.push_back(std::move(label));
  label.clear();
  return Status::ok();
}

}  // namespace

std::string escapeLabel(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) appendEscapedByte(out, static_cast<unsigned char>(c), true);
  return out;
}

StatusOr<std::vector<std::string>> splitName(std::string_view name) {
  std::vector<std::string> labels;
  if (name.empty() || name == ".") return labels;
  size_t wire = 1;
  std::string label;
  size_t i = 0;
  while (i < name.size()) {
    char c = name[i];
    if (c == '.') {
      CAIRN_RETURN_IF_ERROR(finishLabel(label, wire, labels));
      ++i;
      continue;
    }
    if (c == '\\') {
      if (!readEscape(name, i, c)) return invalidArgument("bad escape in name");
    } else {
      ++i;
    }
    label += c;
  }
  if (!label.empty()) CAIRN_RETURN_IF_ERROR(finishLabel(label, wire, labels));
  return labels;
}

std::string dottedToName(std::string_view dotted) {
  std::string out;
  out.reserve(dotted.size() + 1);
  for (char c : dotted) appendEscapedByte(out, static_cast<unsigned char>(c), false);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

std::string fqdn(std::string_view name) {
  std::string out(name);
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerChar(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  }
  return true;
}

std::string parseIp(std::string_view text) {
  if (text.empty() || text.size() > 45) return {};
  std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) != 1) return {};
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(buf, kMapped, 12) == 0) return std::string(reinterpret_cast<char*>(buf + 12), 4);
  return std::string(reinterpret_cast<char*>(buf), 16);
}

std::string formatIp(std::string_view raw) {
  char out[INET6_ADDRSTRLEN] = {};
  if (raw.size() == 4) {
    inet_ntop(AF_INET, raw.data(), out, sizeof(out));
  } else if (raw.size() == 16) {
    inet_ntop(AF_INET6, raw.data(), out, sizeof(out));
  }
  return out;
}

}  // namespace cairn::dns

// Encoder half of dns_message.h.
#include <unordered_map>

#include "core/dns/dns_message.h"
#include "core/dns/dns_name.h"

namespace cairn::dns {
namespace {

constexpr size_t kMaxPointerOffset = 0x3FFF;
constexpr size_t kMaxCharacterString = 255;

class Writer {
 public:
  std::vector<uint8_t>& bytes() { return out_; }

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

  // Writes `name`; with `compress`, ends it with a pointer to an earlier identical suffix (case
  // included, so every name keeps its spelling). Every suffix written is remembered either way.
  Status name(std::string_view name, bool compress) {
    StatusOr<std::vector<std::string>> labels = splitName(name);
    if (!labels.isOk()) return labels.status();
    const std::vector<std::string>& l = *labels;
    for (size_t i = 0; i < l.size(); ++i) {
      std::string key = suffixKey(l, i);
      auto it = suffixes_.find(key);
      if (compress && it != suffixes_.end()) {
        u16(static_cast<uint16_t>(0xC000 | it->second));
        return Status::ok();
      }
      if (it == suffixes_.end() && out_.size() <= kMaxPointerOffset) {
        suffixes_.emplace(std::move(key), static_cast<uint16_t>(out_.size()));
      }
      u8(static_cast<uint8_t>(l[i].size()));
      raw(l[i]);
    }
    u8(0);
    return Status::ok();
  }

 private:
  static std::string suffixKey(const std::vector<std::string>& labels, size_t from) {
    std::string key;
    for (size_t i = from; i < labels.size(); ++i) {
      key += static_cast<char>(labels[i].size());
      key += labels[i];
    }
    return key;
  }

  std::vector<uint8_t> out_;
  std::unordered_map<std::string, uint16_t> suffixes_;
};

void writeTxt(Writer& w, const TxtData& txt) {
  if (txt.strings.empty()) w.u8(0);
  for (const std::string& s : txt.strings) {
    size_t i = 0;
    do {
      size_t n = std::min(kMaxCharacterString, s.size() - i);
      w.u8(static_cast<uint8_t>(n));
      w.raw(std::string_view(s).substr(i, n));
      i += n;
    } while (i < s.size());
  }
}

Status writeRData(Writer& w, const RData& data) {
  struct Visitor {
    Writer& w;
    Status operator()(const AddressData& a) {
      w.raw(a.bytes);
      return Status::ok();
    }
    Status operator()(const NameData& n) { return w.name(n.name, true); }
    Status operator()(const SoaData& s) {
      CAIRN_RETURN_IF_ERROR(w.name(s.mname, true));
      CAIRN_RETURN_IF_ERROR(w.name(s.rname, true));
      for (uint32_t v : {s.serial, s.refresh, s.retry, s.expire, s.minimum}) w.u32(v);
      return Status::ok();
    }
    Status operator()(const SrvData& s) {
      w.u16(s.priority);
      w.u16(s.weight);
      w.u16(s.port);
      return w.name(s.target, false);
    }
    Status operator()(const TxtData& t) {
      writeTxt(w, t);
      return Status::ok();
    }
    Status operator()(const OpaqueData& o) {
      w.raw(o.bytes);
      return Status::ok();
    }
  };
  return std::visit(Visitor{w}, data);
}

Status writeRecordBody(Writer& w, uint16_t type, uint16_t klass, uint32_t ttl, const RData& data) {
  w.u16(type);
  w.u16(klass);
  w.u32(ttl);
  size_t length_at = w.bytes().size();
  w.u16(0);
  CAIRN_RETURN_IF_ERROR(writeRData(w, data));
  size_t length = w.bytes().size() - length_at - 2;
  if (length > 0xFFFF) return invalidArgument("dns: rdata longer than 65535 bytes");
  w.bytes()[length_at] = static_cast<uint8_t>(length >> 8);
  w.bytes()[length_at + 1] = static_cast<uint8_t>(length);
  return Status::ok();
}

Status writeRecords(Writer& w, const std::vector<ResourceRecord>& records) {
  for (const ResourceRecord& rr : records) {
    CAIRN_RETURN_IF_ERROR(w.name(rr.name, true));
    CAIRN_RETURN_IF_ERROR(writeRecordBody(w, rr.type, rr.klass, rr.ttl, rr.data));
  }
  return Status::ok();
}

Status writeOpt(Writer& w, const Edns& edns, uint16_t rcode) {
  std::string options;
  for (const EdnsOption& o : edns.options) {
    if (o.data.size() > 0xFFFF) return invalidArgument("dns: EDNS option too long");
    for (uint16_t v : {o.code, static_cast<uint16_t>(o.data.size())}) {
      options += static_cast<char>(v >> 8);
      options += static_cast<char>(v & 0xFF);
    }
    options += o.data;
  }
  uint32_t ttl = (static_cast<uint32_t>((rcode >> 4) & 0xFF) << 24) |
                 (static_cast<uint32_t>(edns.version) << 16) | (edns.dnssec_ok ? 0x8000u : 0u);
  w.u8(0);
  return writeRecordBody(w, kTypeOpt, edns.udp_size, ttl, OpaqueData{std::move(options)});
}

uint16_t headerFlags(const Header& h) {
  uint16_t f = static_cast<uint16_t>((h.opcode & 0xF) << 11) | (h.rcode & 0xF);
  if (h.qr) f |= 0x8000;
  if (h.aa) f |= 0x0400;
  if (h.tc) f |= 0x0200;
  if (h.rd) f |= 0x0100;
  if (h.ra) f |= 0x0080;
  if (h.ad) f |= 0x0020;
  if (h.cd) f |= 0x0010;
  return f;
}

uint16_t count(size_t n) { return static_cast<uint16_t>(std::min<size_t>(n, 0xFFFF)); }

}  // namespace

StatusOr<std::vector<uint8_t>> encodeMessage(const Message& m) {
  size_t additional = m.additional.size() + (m.edns ? 1 : 0);
  if (m.questions.size() > 0xFFFF || m.answers.size() > 0xFFFF || m.authority.size() > 0xFFFF ||
      additional > 0xFFFF) {
    return invalidArgument("dns: too many records");
  }
  Writer w;
  w.u16(m.header.id);
  w.u16(headerFlags(m.header));
  for (size_t n : {m.questions.size(), m.answers.size(), m.authority.size(), additional}) {
    w.u16(count(n));
  }
  for (const Question& q : m.questions) {
    CAIRN_RETURN_IF_ERROR(w.name(q.name, true));
    w.u16(q.type);
    w.u16(q.klass);
  }
  CAIRN_RETURN_IF_ERROR(writeRecords(w, m.answers));
  CAIRN_RETURN_IF_ERROR(writeRecords(w, m.authority));
  CAIRN_RETURN_IF_ERROR(writeRecords(w, m.additional));
  if (m.edns) CAIRN_RETURN_IF_ERROR(writeOpt(w, *m.edns, m.header.rcode));
  if (w.bytes().size() > kMaxMessageSize) return tooLarge("dns: message larger than 65535 bytes");
  return std::move(w.bytes());
}

}  // namespace cairn::dns

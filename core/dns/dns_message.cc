#include "core/dns/dns_message.h"

#include "core/dns/dns_name.h"

namespace cairn::dns {
namespace {

constexpr size_t kMinQuestionSize = 5;  // root name + type + class
constexpr size_t kMinRecordSize = 11;   // root name + type + class + ttl + rdlength
constexpr int kMaxPointerHops = 128;

Status truncated() { return invalidArgument("dns: truncated message"); }

// Bounds-checked cursor over one message. Names may point anywhere earlier in the message.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> wire) : wire_(wire) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return wire_.size() - pos_; }

  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = wire_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = static_cast<uint16_t>((wire_[pos_] << 8) | wire_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    uint16_t hi = 0, lo = 0;
    if (remaining() < 4) return false;
    (void)u16(hi);
    (void)u16(lo);
    v = (static_cast<uint32_t>(hi) << 16) | lo;
    return true;
  }
  bool bytes(size_t n, std::string& out) {
    if (remaining() < n) return false;
    out.assign(reinterpret_cast<const char*>(wire_.data() + pos_), n);
    pos_ += n;
    return true;
  }

  // A possibly compressed name. Every pointer must point strictly before the labels that led to
  // it, so chains always terminate; loops and forward pointers are errors.
  Status name(std::string& out) {
    out.clear();
    size_t at = pos_;
    size_t segment_start = pos_;
    size_t resume = 0;
    bool jumped = false;
    size_t wire_length = 1;
    for (int hops = 0;;) {
      if (at >= wire_.size()) return truncated();
      uint8_t len = wire_[at];
      if (len == 0) {
        if (!jumped) resume = at + 1;
        break;
      }
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= wire_.size()) return truncated();
        size_t target = (static_cast<size_t>(len & 0x3F) << 8) | wire_[at + 1];
        if (target >= segment_start) return invalidArgument("dns: forward or looping pointer");
        if (++hops > kMaxPointerHops) return invalidArgument("dns: too many pointers");
        if (!jumped) resume = at + 2;
        jumped = true;
        segment_start = target;
        at = target;
        continue;
      }
      if ((len & 0xC0) != 0) return invalidArgument("dns: unsupported label type");
      if (at + 1 + len > wire_.size()) return truncated();
      wire_length += len + 1;
      if (wire_length > kMaxNameWireLength) return invalidArgument("dns: name too long");
      out += escapeLabel(std::string_view(reinterpret_cast<const char*>(&wire_[at + 1]), len));
      out += '.';
      at += 1 + len;
    }
    if (out.empty()) out = ".";
    pos_ = resume;
    return Status::ok();
  }

 private:
  std::span<const uint8_t> wire_;
  size_t pos_ = 0;
};

Status parseTxt(Reader& r, size_t end, TxtData& txt) {
  while (r.pos() < end) {
    uint8_t len = 0;
    std::string s;
    if (!r.u8(len) || r.pos() + len > end || !r.bytes(len, s)) return truncated();
    txt.strings.push_back(std::move(s));
  }
  return Status::ok();
}

Status parseSoa(Reader& r, SoaData& soa) {
  CAIRN_RETURN_IF_ERROR(r.name(soa.mname));
  CAIRN_RETURN_IF_ERROR(r.name(soa.rname));
  if (!r.u32(soa.serial) || !r.u32(soa.refresh) || !r.u32(soa.retry) || !r.u32(soa.expire) ||
      !r.u32(soa.minimum)) {
    return truncated();
  }
  return Status::ok();
}

Status parseSrv(Reader& r, SrvData& srv) {
  if (!r.u16(srv.priority) || !r.u16(srv.weight) || !r.u16(srv.port)) return truncated();
  return r.name(srv.target);
}

Status parseRData(Reader& r, uint16_t type, uint16_t rdlength, RData& data) {
  size_t end = r.pos() + rdlength;
  Status status;
  switch (type) {
    case kTypeA:
    case kTypeAaaa: {
      if (rdlength != (type == kTypeA ? 4 : 16)) return invalidArgument("dns: bad address length");
      AddressData a;
      (void)r.bytes(rdlength, a.bytes);
      data = std::move(a);
      return Status::ok();
    }
    case kTypeCname:
    case kTypeNs:
    case kTypePtr: {
      NameData n;
      status = r.name(n.name);
      data = std::move(n);
      break;
    }
    case kTypeSoa: {
      SoaData soa;
      status = parseSoa(r, soa);
      data = std::move(soa);
      break;
    }
    case kTypeSrv: {
      SrvData srv;
      status = parseSrv(r, srv);
      data = std::move(srv);
      break;
    }
    case kTypeTxt: {
      TxtData txt;
      status = parseTxt(r, end, txt);
      data = std::move(txt);
      break;
    }
    default: {
      OpaqueData o;
      (void)r.bytes(rdlength, o.bytes);
      data = std::move(o);
      return Status::ok();
    }
  }
  CAIRN_RETURN_IF_ERROR(status);
  if (r.pos() != end) return invalidArgument("dns: rdata does not match its length");
  return Status::ok();
}

Status parseOptions(const std::string& rdata, Edns& edns) {
  size_t i = 0;
  while (i < rdata.size()) {
    if (rdata.size() - i < 4) return truncated();
    auto byte = [&](size_t k) { return static_cast<uint8_t>(rdata[k]); };
    EdnsOption option;
    option.code = static_cast<uint16_t>((byte(i) << 8) | byte(i + 1));
    size_t len = (static_cast<size_t>(byte(i + 2)) << 8) | byte(i + 3);
    i += 4;
    if (rdata.size() - i < len) return truncated();
    option.data = rdata.substr(i, len);
    i += len;
    edns.options.push_back(std::move(option));
  }
  return Status::ok();
}

Status parseOpt(const ResourceRecord& rr, Message& m) {
  if (m.edns) return invalidArgument("dns: more than one OPT record");
  if (rr.name != ".") return invalidArgument("dns: OPT record not at the root");
  Edns edns;
  edns.udp_size = rr.klass;
  m.header.rcode = static_cast<uint16_t>(m.header.rcode | ((rr.ttl >> 24) << 4));
  edns.version = static_cast<uint8_t>((rr.ttl >> 16) & 0xFF);
  edns.dnssec_ok = (rr.ttl & 0x8000) != 0;
  CAIRN_RETURN_IF_ERROR(parseOptions(std::get<OpaqueData>(rr.data).bytes, edns));
  m.edns = std::move(edns);
  return Status::ok();
}

Status parseRecord(Reader& r, ResourceRecord& rr) {
  CAIRN_RETURN_IF_ERROR(r.name(rr.name));
  uint16_t rdlength = 0;
  if (!r.u16(rr.type) || !r.u16(rr.klass) || !r.u32(rr.ttl) || !r.u16(rdlength)) {
    return truncated();
  }
  if (r.remaining() < rdlength) return truncated();
  return parseRData(r, rr.type, rdlength, rr.data);
}

Status parseSection(Reader& r, uint16_t count, bool additional, std::vector<ResourceRecord>& out,
                    Message& m) {
  for (uint16_t i = 0; i < count; ++i) {
    ResourceRecord rr;
    CAIRN_RETURN_IF_ERROR(parseRecord(r, rr));
    if (rr.type != kTypeOpt) {
      out.push_back(std::move(rr));
    } else if (!additional) {
      return invalidArgument("dns: OPT record outside the additional section");
    } else {
      CAIRN_RETURN_IF_ERROR(parseOpt(rr, m));
    }
  }
  return Status::ok();
}

}  // namespace

StatusOr<Header> parseHeader(std::span<const uint8_t> wire) {
  if (wire.size() < kHeaderSize) return truncated();
  Reader r(wire);
  Header h;
  uint16_t flags = 0;
  (void)r.u16(h.id);
  (void)r.u16(flags);
  (void)r.u16(h.qdcount);
  (void)r.u16(h.ancount);
  (void)r.u16(h.nscount);
  (void)r.u16(h.arcount);
  h.qr = (flags & 0x8000) != 0;
  h.opcode = static_cast<uint8_t>((flags >> 11) & 0xF);
  h.aa = (flags & 0x0400) != 0;
  h.tc = (flags & 0x0200) != 0;
  h.rd = (flags & 0x0100) != 0;
  h.ra = (flags & 0x0080) != 0;
  h.ad = (flags & 0x0020) != 0;
  h.cd = (flags & 0x0010) != 0;
  h.rcode = flags & 0xF;
  return h;
}

StatusOr<Message> parseMessage(std::span<const uint8_t> wire) {
  StatusOr<Header> header = parseHeader(wire);
  if (!header.isOk()) return header.status();
  if (wire.size() > kMaxMessageSize) return invalidArgument("dns: message larger than 65535");
  Message m;
  m.header = *header;
  const Header& h = m.header;
  size_t records = static_cast<size_t>(h.ancount) + h.nscount + h.arcount;
  if (h.qdcount * kMinQuestionSize + records * kMinRecordSize > wire.size() - kHeaderSize) {
    return invalidArgument("dns: section counts exceed the message");
  }
  Reader r(wire.subspan(0));
  std::string skip;
  (void)r.bytes(kHeaderSize, skip);
  m.questions.reserve(h.qdcount);
  for (uint16_t i = 0; i < h.qdcount; ++i) {
    Question q;
    CAIRN_RETURN_IF_ERROR(r.name(q.name));
    if (!r.u16(q.type) || !r.u16(q.klass)) return truncated();
    m.questions.push_back(std::move(q));
  }
  CAIRN_RETURN_IF_ERROR(parseSection(r, h.ancount, false, m.answers, m));
  CAIRN_RETURN_IF_ERROR(parseSection(r, h.nscount, false, m.authority, m));
  CAIRN_RETURN_IF_ERROR(parseSection(r, h.arcount, true, m.additional, m));
  return m;
}

bool sameName(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.' && !(a.size() >= 2 && a[a.size() - 2] == '\\')) {
    a.remove_suffix(1);
  }
  if (!b.empty() && b.back() == '.' && !(b.size() >= 2 && b[b.size() - 2] == '\\')) {
    b.remove_suffix(1);
  }
  return equalsIgnoreCase(a, b);
}

ResourceRecord ResourceRecord::address(std::string name, uint32_t ttl, std::string raw_ip) {
  uint16_t type = raw_ip.size() == 4 ? kTypeA : kTypeAaaa;
  return {std::move(name), type, kClassIn, ttl, AddressData{std::move(raw_ip)}};
}

ResourceRecord ResourceRecord::withName(std::string name, uint16_t type, uint32_t ttl,
                                        std::string target) {
  return {std::move(name), type, kClassIn, ttl, NameData{std::move(target)}};
}

ResourceRecord ResourceRecord::srv(std::string name, uint32_t ttl, SrvData srv) {
  return {std::move(name), kTypeSrv, kClassIn, ttl, std::move(srv)};
}

ResourceRecord ResourceRecord::txt(std::string name, uint32_t ttl,
                                   std::vector<std::string> strings) {
  return {std::move(name), kTypeTxt, kClassIn, ttl, TxtData{std::move(strings)}};
}

ResourceRecord ResourceRecord::soa(std::string name, uint32_t ttl, SoaData soa) {
  return {std::move(name), kTypeSoa, kClassIn, ttl, std::move(soa)};
}

}  // namespace cairn::dns

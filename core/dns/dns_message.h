#pragma once
// DNS wire format (RFC 1035, RFC 2782 SRV, RFC 3596 AAAA, RFC 6891 EDNS0): a strict parser that
// never reads outside its input and an encoder with name compression.
//
// Names are in presentation form (see dns_name.h). The OPT pseudo-record is not kept among the
// additional records: it is parsed into Message::edns and encoded last in the additional section.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/base/status.h"

namespace cairn::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kTypeIxfr = 251;
inline constexpr uint16_t kTypeAxfr = 252;
inline constexpr uint16_t kTypeAny = 255;

inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kOpcodeQuery = 0;

inline constexpr uint16_t kRcodeNoError = 0;
inline constexpr uint16_t kRcodeFormErr = 1;
inline constexpr uint16_t kRcodeServFail = 2;
inline constexpr uint16_t kRcodeNxDomain = 3;
inline constexpr uint16_t kRcodeNotImp = 4;
inline constexpr uint16_t kRcodeRefused = 5;
inline constexpr uint16_t kRcodeBadVers = 16;  // extended: needs an OPT record

inline constexpr uint16_t kEdnsOptionClientSubnet = 8;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxMessageSize = 65535;

struct Header {
  uint16_t id = 0;
  bool qr = false;  // response
  uint8_t opcode = 0;
  bool aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  uint16_t rcode = 0;  // 12 bits: the high 8 travel in the OPT record
  // Section counts as read from the wire; the encoder ignores them and writes the real sizes.
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

struct Question {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;
};

struct AddressData {  // A (4 bytes) or AAAA (16 bytes), raw network order
  std::string bytes;
};
struct NameData {  // CNAME, NS, PTR
  std::string name;
};
struct SoaData {
  std::string mname, rname;
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
struct SrvData {
  uint16_t priority = 0, weight = 0, port = 0;
  std::string target;
};
struct TxtData {  // character-strings; the encoder splits strings longer than 255 bytes
  std::vector<std::string> strings;
};
struct OpaqueData {  // any other type: the RDATA bytes as received
  std::string bytes;
};
using RData = std::variant<AddressData, NameData, SoaData, SrvData, TxtData, OpaqueData>;

struct ResourceRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = kClassIn;
  uint32_t ttl = 0;
  RData data;

  static ResourceRecord address(std::string name, uint32_t ttl, std::string raw_ip);
  static ResourceRecord withName(std::string name, uint16_t type, uint32_t ttl, std::string target);
  static ResourceRecord srv(std::string name, uint32_t ttl, SrvData srv);
  static ResourceRecord txt(std::string name, uint32_t ttl, std::vector<std::string> strings);
  static ResourceRecord soa(std::string name, uint32_t ttl, SoaData soa);
};

struct EdnsOption {
  uint16_t code = 0;
  std::string data;  // opaque (client-subnet included)
};

struct Edns {
  uint16_t udp_size = 512;
  uint8_t version = 0;
  bool dnssec_ok = false;
  std::vector<EdnsOption> options;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;  // without the OPT record
  std::optional<Edns> edns;
};

// The 12-byte header alone; fails only when fewer than 12 bytes are given.
StatusOr<Header> parseHeader(std::span<const uint8_t> wire);

// The whole message. Every malformed input (truncation, label > 63, name > 255, compression
// pointer loops or forward pointers, counts beyond the packet, RDATA not matching its length,
// several OPT records) fails with kInvalidArgument. Bytes after the last record are ignored.
StatusOr<Message> parseMessage(std::span<const uint8_t> wire);

// Wire form with name compression (SRV targets are never compressed, RFC 2782). Fails with
// kInvalidArgument when a name is not encodable, kTooLarge when the message exceeds 65535 bytes.
StatusOr<std::vector<uint8_t>> encodeMessage(const Message& message);

// True when the two names are equal ignoring ASCII case (presentation form, trailing dot
// optional).
bool sameName(std::string_view a, std::string_view b);

}  // namespace cairn::dns

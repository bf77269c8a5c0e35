#include "core/dns/dns_message.h"

#include <gtest/gtest.h>

#include <random>

#include "core/dns/dns_name.h"

namespace cairn::dns {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes header(uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  return {0x12,
          0x34,
          0x01,
          0x00,
          static_cast<uint8_t>(qd >> 8),
          static_cast<uint8_t>(qd),
          static_cast<uint8_t>(an >> 8),
          static_cast<uint8_t>(an),
          static_cast<uint8_t>(ns >> 8),
          static_cast<uint8_t>(ns),
          static_cast<uint8_t>(ar >> 8),
          static_cast<uint8_t>(ar)};
}

void append(Bytes& b, std::initializer_list<uint8_t> more) { b.insert(b.end(), more); }

void appendName(Bytes& b, std::initializer_list<std::string_view> labels) {
  for (std::string_view l : labels) {
    b.push_back(static_cast<uint8_t>(l.size()));
    b.insert(b.end(), l.begin(), l.end());
  }
  b.push_back(0);
}

Status parseStatus(const Bytes& b) { return parseMessage(b).status(); }

Message sampleMessage() {
  Message m;
  m.header = {.id = 77, .qr = true, .opcode = 0, .aa = true, .rd = true, .cd = true};
  m.questions.push_back({"Web.Service.Consul.", kTypeSrv, kClassIn});
  m.answers.push_back(
      ResourceRecord::address("web.service.consul.", 5, std::string("\x7f\0\0\1", 4)));
  m.answers.push_back(ResourceRecord::address("web.service.consul.", 5, std::string(16, '\x01')));
  m.answers.push_back(ResourceRecord::withName("a.consul.", kTypeCname, 1, "b.consul."));
  m.answers.push_back(ResourceRecord::withName("consul.", kTypeNs, 1, "ns1.node.dc1.consul."));
  m.answers.push_back(
      ResourceRecord::withName("1.0.0.127.in-addr.arpa.", kTypePtr, 0, "n.consul."));
  m.answers.push_back(
      ResourceRecord::srv("web.service.consul.", 0, {1, 10, 8080, "n1.node.dc1.consul."}));
  m.answers.push_back(ResourceRecord::txt("n1.node.consul.", 0, {"a=b", "", "c`=d"}));
  m.answers.push_back({"x.consul.", kTypeMx, kClassIn, 9, OpaqueData{std::string("\0\5\0", 3)}});
  m.authority.push_back(ResourceRecord::soa(
      "consul.", 0, {"ns.consul.", "hostmaster.consul.", 1700000000, 3600, 600, 86400, 0}));
  m.additional.push_back(
      ResourceRecord::address("n1.node.dc1.consul.", 0, std::string("\x0a\0\0\1", 4)));
  Edns edns;
  edns.udp_size = 4096;
  edns.dnssec_ok = true;
  edns.options.push_back({kEdnsOptionClientSubnet, std::string("\0\1\x18\0\x0a\x01\x02", 7)});
  edns.options.push_back({10, "cookie12"});
  m.edns = edns;
  return m;
}

TEST(DnsMessage, RoundTripsEveryRecordType) {
  Message m = sampleMessage();
  StatusOr<Bytes> wire = encodeMessage(m);
  ASSERT_TRUE(wire.isOk()) << wire.status().toString();
  StatusOr<Message> back = parseMessage(*wire);
  ASSERT_TRUE(back.isOk()) << back.status().toString();
  EXPECT_EQ(back->header.id, 77);
  EXPECT_TRUE(back->header.qr && back->header.aa && back->header.rd && back->header.cd);
  EXPECT_FALSE(back->header.tc || back->header.ra);
  EXPECT_EQ(back->header.ancount, 8);
  EXPECT_EQ(back->header.arcount, 2);  // the OPT record counts on the wire
  ASSERT_EQ(back->questions.size(), 1u);
  EXPECT_EQ(back->questions[0].name, "Web.Service.Consul.");
  ASSERT_EQ(back->answers.size(), 8u);
  EXPECT_EQ(std::get<AddressData>(back->answers[0].data).bytes, std::string("\x7f\0\0\1", 4));
  EXPECT_EQ(back->answers[1].type, kTypeAaaa);
  EXPECT_EQ(std::get<NameData>(back->answers[2].data).name, "b.consul.");
  EXPECT_EQ(std::get<NameData>(back->answers[3].data).name, "ns1.node.dc1.consul.");
  EXPECT_EQ(back->answers[4].type, kTypePtr);
  const auto& srv = std::get<SrvData>(back->answers[5].data);
  EXPECT_EQ(srv.priority, 1);
  EXPECT_EQ(srv.weight, 10);
  EXPECT_EQ(srv.port, 8080);
  EXPECT_EQ(srv.target, "n1.node.dc1.consul.");
  EXPECT_EQ(std::get<TxtData>(back->answers[6].data).strings,
            (std::vector<std::string>{"a=b", "", "c`=d"}));
  EXPECT_EQ(std::get<OpaqueData>(back->answers[7].data).bytes, std::string("\0\5\0", 3));
  EXPECT_EQ(back->answers[7].ttl, 9u);
  const auto& soa = std::get<SoaData>(back->authority[0].data);
  EXPECT_EQ(soa.mname, "ns.consul.");
  EXPECT_EQ(soa.rname, "hostmaster.consul.");
  EXPECT_EQ(soa.serial, 1700000000u);
  EXPECT_EQ(soa.expire, 86400u);
  ASSERT_EQ(back->additional.size(), 1u);
  ASSERT_TRUE(back->edns.has_value());
  EXPECT_EQ(back->edns->udp_size, 4096);
  EXPECT_TRUE(back->edns->dnssec_ok);
  ASSERT_EQ(back->edns->options.size(), 2u);
  EXPECT_EQ(back->edns->options[0].data, std::string("\0\1\x18\0\x0a\x01\x02", 7));
  EXPECT_EQ(back->edns->options[1].data, "cookie12");
  // Encoding the parsed message again gives the same bytes.
  StatusOr<Bytes> again = encodeMessage(*back);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(*again, *wire);
}

TEST(DnsMessage, ExtendedRcodeTravelsInOpt) {
  Message m;
  m.header.rcode = kRcodeBadVers;
  m.edns = Edns{};
  StatusOr<Bytes> wire = encodeMessage(m);
  ASSERT_TRUE(wire.isOk());
  EXPECT_EQ((*wire)[3] & 0xF, 0);
  StatusOr<Message> back = parseMessage(*wire);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->header.rcode, kRcodeBadVers);
}

TEST(DnsMessage, CompressesRepeatedNamesAndKeepsTheirCase) {
  Message one;
  one.questions.push_back({"web.service.consul.", kTypeA, kClassIn});
  Message many = one;
  for (int i = 0; i < 10; ++i) {
    many.answers.push_back(
        ResourceRecord::address("WEB.service.consul.", 0, std::string("\1\2\3\4", 4)));
  }
  StatusOr<Bytes> a = encodeMessage(one);
  StatusOr<Bytes> b = encodeMessage(many);
  ASSERT_TRUE(a.isOk() && b.isOk());
  // The first answer spells "WEB" and points at "service.consul."; the others are one pointer.
  // Each answer adds 10 bytes of fixed fields and 4 bytes of address.
  EXPECT_EQ(b->size(), a->size() + (4 + 2 + 14) + 9 * (2 + 14));
  StatusOr<Message> back = parseMessage(*b);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->questions[0].name, "web.service.consul.");
  EXPECT_EQ(back->answers[9].name, "WEB.service.consul.");
}

TEST(DnsMessage, SrvTargetIsNotCompressedButLaterNamesPointIntoIt) {
  Message m;
  m.answers.push_back(ResourceRecord::srv("s.consul.", 0, {1, 1, 80, "n.node.dc1.consul."}));
  m.additional.push_back(ResourceRecord::address("n.node.dc1.consul.", 0, std::string(4, '\1')));
  StatusOr<Bytes> wire = encodeMessage(m);
  ASSERT_TRUE(wire.isOk());
  std::string text(wire->begin(), wire->end());
  EXPECT_NE(text.find(std::string("\1n\4node\3dc1\6consul\0", 18)), std::string::npos);
  StatusOr<Message> back = parseMessage(*wire);
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->additional[0].name, "n.node.dc1.consul.");
}

TEST(DnsMessage, ParsesHandBuiltCompressedQuery) {
  Bytes b = header(1, 1);
  appendName(b, {"foo", "consul"});  // at offset 12
  append(b, {0, 1, 0, 1});
  append(b, {3, 'b', 'a', 'r', 0xC0, 12});  // bar.foo.consul.
  append(b, {0, 5, 0, 1, 0, 0, 0, 7, 0, 2, 0xC0, 12});
  StatusOr<Message> m = parseMessage(b);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->answers[0].name, "bar.foo.consul.");
  EXPECT_EQ(std::get<NameData>(m->answers[0].data).name, "foo.consul.");
  EXPECT_EQ(m->answers[0].ttl, 7u);
}

TEST(DnsMessage, RejectsShortHeader) {
  EXPECT_FALSE(parseHeader(Bytes(11, 0)).isOk());
  EXPECT_FALSE(parseMessage(Bytes()).isOk());
  EXPECT_TRUE(parseHeader(Bytes(12, 0)).isOk());
}

TEST(DnsMessage, RejectsEveryTruncation) {
  StatusOr<Bytes> wire = encodeMessage(sampleMessage());
  ASSERT_TRUE(wire.isOk());
  for (size_t n = 0; n < wire->size(); ++n) {
    Bytes prefix(wire->begin(), wire->begin() + static_cast<long>(n));
    EXPECT_FALSE(parseMessage(prefix).isOk()) << "prefix " << n;
  }
}

TEST(DnsMessage, RejectsLabelTypesAboveSixtyThree) {
  for (uint8_t len : {64, 0x80, 0xBF}) {
    Bytes b = header(1);
    b.push_back(len);
    b.insert(b.end(), 200, 'a');
    EXPECT_EQ(parseStatus(b).code(), StatusCode::kInvalidArgument);
  }
}

TEST(DnsMessage, RejectsNamesLongerThan255) {
  Bytes b = header(1);
  for (int i = 0; i < 5; ++i) {  // 5 * 52 = 260 bytes on the wire
    b.push_back(51);
    b.insert(b.end(), 51, 'x');
  }
  append(b, {0, 0, 1, 0, 1});
  EXPECT_FALSE(parseMessage(b).isOk());
  // Through compression pointers, too: each name adds labels in front of the previous one.
  Bytes c = header(4);
  size_t previous = 0;
  for (int q = 0; q < 4; ++q) {
    size_t here = c.size();
    c.push_back(63);
    c.insert(c.end(), 63, 'y');
    if (q == 0) {
      c.push_back(0);
    } else {
      append(c, {static_cast<uint8_t>(0xC0 | (previous >> 8)), static_cast<uint8_t>(previous)});
    }
    append(c, {0, 1, 0, 1});
    previous = here;
  }
  EXPECT_FALSE(parseMessage(c).isOk());
}

TEST(DnsMessage, RejectsPointerLoopsAndForwardPointers) {
  Bytes self = header(1);
  append(self, {0xC0, 12, 0, 1, 0, 1});  // points at itself
  EXPECT_FALSE(parseMessage(self).isOk());
  Bytes loop = header(1);
  append(loop, {1, 'a', 0xC0, 12, 0, 1, 0, 1});  // label, then back to its own start
  EXPECT_FALSE(parseMessage(loop).isOk());
  Bytes forward = header(1);
  append(forward, {0xC0, 20, 0, 1, 0, 1, 0, 0, 1, 'a', 0});
  EXPECT_FALSE(parseMessage(forward).isOk());
  Bytes beyond = header(1);
  append(beyond, {0xFF, 0xFF, 0, 1, 0, 1});
  EXPECT_FALSE(parseMessage(beyond).isOk());
  Bytes cut = header(1);
  append(cut, {0xC0});
  EXPECT_FALSE(parseMessage(cut).isOk());
}

TEST(DnsMessage, RejectsCountsLargerThanThePacket) {
  for (Bytes b : {header(0xFFFF), header(1, 0xFFFF), header(1, 0, 0xFFFF), header(1, 0, 0, 3)}) {
    appendName(b, {"a"});
    append(b, {0, 1, 0, 1});
    EXPECT_FALSE(parseMessage(b).isOk());
  }
}

TEST(DnsMessage, RejectsRdataThatDoesNotMatchItsLength) {
  auto record = [](std::initializer_list<uint8_t> typeAndRdata) {
    Bytes b = header(0, 1);
    b.push_back(0);  // root owner
    append(b, typeAndRdata);
    return b;
  };
  // A with 5 bytes, AAAA with 4, CNAME whose name runs past rdlength, TXT string overrun,
  // SRV too short, SOA missing its counters, rdlength beyond the packet.
  EXPECT_FALSE(parseMessage(record({0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 28, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 1, 'a', 0})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 16, 0, 1, 0, 0, 0, 0, 0, 2, 5, 'a'})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 33, 0, 1, 0, 0, 0, 0, 0, 3, 0, 1, 0})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 6, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0})).isOk());
  EXPECT_FALSE(parseMessage(record({0, 99, 0, 1, 0, 0, 0, 0, 0, 9, 1})).isOk());
  EXPECT_TRUE(parseMessage(record({0, 99, 0, 1, 0, 0, 0, 0, 0, 1, 1})).isOk());
}

TEST(DnsMessage, RejectsBadOptRecords) {
  Bytes two = header(0, 0, 0, 2);
  for (int i = 0; i < 2; ++i) append(two, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(parseMessage(two).isOk());
  Bytes in_answer = header(0, 1);
  append(in_answer, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(parseMessage(in_answer).isOk());
  Bytes not_root = header(0, 0, 0, 1);
  append(not_root, {1, 'a', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(parseMessage(not_root).isOk());
  Bytes bad_option = header(0, 0, 0, 1);
  append(bad_option, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 0, 8, 0, 9, 1});
  EXPECT_FALSE(parseMessage(bad_option).isOk());
  Bytes good = header(0, 0, 0, 1);
  append(good, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 0, 8, 0, 1, 7});
  StatusOr<Message> m = parseMessage(good);
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(m->edns->udp_size, 4096);
  EXPECT_EQ(m->edns->options[0].data, "\x07");
}

TEST(DnsMessage, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  StatusOr<Bytes> valid = encodeMessage(sampleMessage());
  ASSERT_TRUE(valid.isOk());
  for (int i = 0; i < 20000; ++i) {
    Bytes b = *valid;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    StatusOr<Message> m = parseMessage(b);
    if (m.isOk()) (void)encodeMessage(*m);
  }
}

TEST(DnsMessage, EncoderRejectsUnencodableNames) {
  Message m;
  m.questions.push_back({std::string(64, 'a') + ".consul.", kTypeA, kClassIn});
  EXPECT_FALSE(encodeMessage(m).isOk());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
  m.questions[0].name = long_name;
  EXPECT_FALSE(encodeMessage(m).isOk());
  m.questions[0].name = "a..consul.";
  EXPECT_FALSE(encodeMessage(m).isOk());
  m.questions[0].name = "bad\\9";
  EXPECT_FALSE(encodeMessage(m).isOk());
}

TEST(DnsMessage, SplitsLongTxtStrings) {
  Message m;
  m.answers.push_back(ResourceRecord::txt("t.consul.", 0, {std::string(600, 'z')}));
  StatusOr<Bytes> wire = encodeMessage(m);
  ASSERT_TRUE(wire.isOk());
  StatusOr<Message> back = parseMessage(*wire);
  ASSERT_TRUE(back.isOk());
  const auto& strings = std::get<TxtData>(back->answers[0].data).strings;
  ASSERT_EQ(strings.size(), 3u);
  EXPECT_EQ(strings[0].size(), 255u);
  EXPECT_EQ(strings[2].size(), 90u);
}

TEST(DnsName, EscapesOddBytesAndRoundTrips) {
  Bytes b = header(1);
  append(b, {3, 'a', '.', 0x07, 2, 'B', '\\', 0, 0, 1, 0, 1});
  StatusOr<Message> m = parseMessage(b);
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(m->questions[0].name, "a\\.\\007.B\\\\.");
  StatusOr<std::vector<std::string>> labels = splitName(m->questions[0].name);
  ASSERT_TRUE(labels.isOk());
  EXPECT_EQ(*labels, (std::vector<std::string>{"a.\x07", "B\\"}));
  StatusOr<Bytes> wire = encodeMessage(*m);
  ASSERT_TRUE(wire.isOk());
  EXPECT_EQ(*wire, b);
}

TEST(DnsName, ComparesCaseInsensitively) {
  EXPECT_TRUE(sameName("Web.Service.CONSUL.", "web.service.consul"));
  EXPECT_FALSE(sameName("web.service.consul.", "web.service.consul.x"));
  EXPECT_EQ(dottedToName("node-1.rack"), "node-1.rack.");
  EXPECT_EQ(parseIp("::ffff:10.0.0.1"), std::string("\x0a\0\0\x01", 4));
  EXPECT_EQ(formatIp(parseIp("2001:db8::1")), "2001:db8::1");
  EXPECT_TRUE(parseIp("host.example").empty());
}

}  // namespace
}  // namespace cairn::dns

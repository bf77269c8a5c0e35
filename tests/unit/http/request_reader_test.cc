// RequestReader and the pure wire helpers: every malformed request of issue 16 is rejected with
// its status, limits apply before the body is buffered, and pipelined requests come out in order.
#include "core/http/request_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/http/wire.h"

namespace cairn::http {
namespace {

using namespace std::string_literals;

constexpr size_t kKvLimit = 512 * 1024;

ReaderLimits limits() {
  return ReaderLimits{1024, [](std::string_view path) {
                        return path.starts_with("/v1/kv/") ? kKvLimit : size_t{1} << 20;
                      }};
}

void feed(RequestReader& reader, std::string_view bytes) {
  auto space = reader.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader.commit(bytes.size());
}

// What the reader makes of `bytes` delivered in pieces of `piece` bytes: the requests it
// produced, then the final step (kNeedMore when it wants more, kReject when it gave up).
struct Outcome {
  std::vector<std::shared_ptr<HttpRequest>> requests;
  RequestReader::Step last = RequestReader::Step::kNeedMore;
  HttpResponse rejection;
  int continues = 0;
};

Outcome readAll(std::string_view bytes, size_t piece = SIZE_MAX) {
  RequestReader reader(limits());
  Outcome out;
  size_t pos = 0;
  for (;;) {
    RequestReader::Step step = reader.advance();
    out.last = step;
    if (step == RequestReader::Step::kRequest) {
      out.requests.push_back(reader.take());
      continue;
    }
    if (step == RequestReader::Step::kContinue) {
      ++out.continues;
      continue;
    }
    if (step == RequestReader::Step::kReject) {
      out.rejection = reader.rejection();
      return out;
    }
    if (pos >= bytes.size()) return out;
    size_t n = std::min(piece, bytes.size() - pos);
    feed(reader, bytes.substr(pos, n));
    pos += n;
  }
}

int rejectStatus(std::string_view bytes) {
  Outcome out = readAll(bytes);
  return out.last == RequestReader::Step::kReject ? out.rejection.status : 0;
}

std::string chunked(std::string_view chunks) {
  return "PUT /v1/kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(chunks);
}

TEST(RequestReader, ParsesARequest) {
  Outcome out = readAll(
      "PUT /v1/kv/a%2Fb?cas=3&flags=1 HTTP/1.1\r\nHost: x\r\nX-Thing: Y\r\n"
      "Content-Length: 5\r\n\r\nhello");
  ASSERT_EQ(out.requests.size(), 1u);
  const HttpRequest& r = *out.requests[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.path, "/v1/kv/a/b");
  EXPECT_EQ(r.raw_query, "cas=3&flags=1");
  EXPECT_EQ(r.query.get("cas"), "3");
  EXPECT_EQ(r.headers.at("x-thing"), "Y");
  EXPECT_EQ(r.body, "hello");
}

TEST(RequestReader, ByteAtATimeIsTheSame) {
  std::string req = chunked("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  Outcome out = readAll(req, 1);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0]->body, "hello world");
}

TEST(RequestReader, PipelinedRequestsComeOutInOrder) {
  std::string two =
      "GET /v1/kv/one HTTP/1.1\r\nHost: x\r\n\r\n"
      "PUT /v1/kv/two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
      "DELETE /v1/kv/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  for (size_t piece : {SIZE_MAX, size_t{7}, size_t{1}}) {
    Outcome out = readAll(two, piece);
    ASSERT_EQ(out.requests.size(), 3u) << piece;
    EXPECT_EQ(out.requests[0]->path, "/v1/kv/one");
    EXPECT_EQ(out.requests[1]->body, "abc");
    EXPECT_EQ(out.requests[2]->method, "DELETE");
  }
}

TEST(RequestReader, KeepAliveFollowsVersionAndConnection) {
  RequestReader reader(limits());
  feed(reader, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(reader.advance(), RequestReader::Step::kRequest);
  EXPECT_TRUE(reader.keepAlive());
  reader.take();
  feed(reader, "GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(reader.advance(), RequestReader::Step::kRequest);
  EXPECT_FALSE(reader.keepAlive());
  reader.take();
  feed(reader, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(reader.advance(), RequestReader::Step::kRequest);
  EXPECT_FALSE(reader.keepAlive());
}

// Issue 16: chunk size -1 aborted the agent; zz, +5 and 0x5 were accepted.
TEST(RequestReader, MalformedChunkSizesAre400) {
  for (std::string_view size : {"-1", "zz", "+5", "0x5", "5 5", "", "ffffffffffffffffff"}) {
    std::string req = chunked(std::string(size) + "\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(rejectStatus(req), 400) << size;
  }
  EXPECT_EQ(rejectStatus(chunked("5\r\nhelloXX0\r\n\r\n")), 400)
      << "chunk data not followed by CRLF";
}

// Issue 16: Content-Length abc was read as empty, two different values were accepted, -1 hung.
TEST(RequestReader, BadContentLengthIs400) {
  for (std::string_view cl :
       {"abc", "-1", "+5", "5, 6", "1e3", "", "0x10", "99999999999999999999999"}) {
    std::string req =
        "PUT /v1/kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::string(cl) + "\r\n\r\nhello";
    EXPECT_EQ(rejectStatus(req), 400) << cl;
  }
  EXPECT_EQ(rejectStatus("PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
                         "hello!"),
            400);
  EXPECT_EQ(rejectStatus("PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 5\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(rejectStatus("PUT /v1/kv/a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx"), 400);
}

// Identical repeated Content-Length values are legal (RFC 7230 3.3.2).
TEST(RequestReader, RepeatedEqualContentLengthIsAccepted) {
  Outcome out =
      readAll("PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0]->body, "ok");
}

// Issue 16: bare-LF requests hung the connection.
TEST(RequestReader, BareLineFeedIs400AtOnce) {
  EXPECT_EQ(rejectStatus("GET /v1/kv/a HTTP/1.1\nHost: x\n\n"), 400);
  EXPECT_EQ(rejectStatus("GET /v1/kv/a HTTP/1.1\r\nHost: x\n\r\n"), 400);
  // Without the end of the header block: still rejected, no waiting for more.
  EXPECT_EQ(rejectStatus("GET /v1/kv/a HTTP/1.1\nHost"), 400);
  // A body may contain bare LFs.
  Outcome out = readAll("PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 3\r\n\r\na\nb");
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0]->body, "a\nb");
}

// Issue 16: a raw NUL in the path wrote key "a" for "a\0b".
TEST(RequestReader, ControlBytesInTheTargetAre400) {
  for (char c : {'\0', '\x01', '\x1f', '\x7f', '\t'}) {
    std::string req = std::string("PUT /v1/kv/a") + c + "b HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
    EXPECT_EQ(rejectStatus(req), 400) << int(c);
  }
  Outcome out = readAll("GET /v1/kv/a%00b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(out.last, RequestReader::Step::kReject);
  EXPECT_EQ(out.rejection.status, 400);
  EXPECT_EQ(out.rejection.body, "Invalid URL path: contains invalid or non-printable characters");
  EXPECT_EQ(rejectStatus("GET /v1/kv/%zz HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestReader, ControlBytesInHeadersAre400) {
  EXPECT_EQ(rejectStatus("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"s), 400);
  EXPECT_EQ(rejectStatus("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400);
  EXPECT_EQ(rejectStatus("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
  EXPECT_EQ(rejectStatus("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400);
  for (std::string_view version : {"HTTP/9.9", "HTTP/2.0", "HTTP/1.10", "HTTPS/1.1"}) {
    int status = rejectStatus("GET / " + std::string(version) + "\r\n\r\n");
    EXPECT_TRUE(status == 400 || status == 505) << version << " " << status;
  }
  EXPECT_EQ(rejectStatus("GE T / HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestReader, HeaderLimitIs431BeforeTheHeaderEnds) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a');  // no end yet
  Outcome out = readAll(big, 100);
  ASSERT_EQ(out.last, RequestReader::Step::kReject);
  EXPECT_EQ(out.rejection.status, 431);
}

TEST(RequestReader, DeclaredBodyOverTheRouteLimitIs413BeforeTheBody) {
  std::string head =
      "PUT /v1/kv/a HTTP/1.1\r\nContent-Length: " + std::to_string(kKvLimit + 1) + "\r\n\r\n";
  Outcome out = readAll(head);  // no body byte sent
  ASSERT_EQ(out.last, RequestReader::Step::kReject);
  EXPECT_EQ(out.rejection.status, 413);
  EXPECT_EQ(out.rejection.body, "Request body(524289 bytes) too large, max size: 524288 bytes");
  // Another route, another limit.
  head = "PUT /v1/txn HTTP/1.1\r\nContent-Length: " + std::to_string(kKvLimit + 1) + "\r\n\r\n";
  EXPECT_EQ(readAll(head).last, RequestReader::Step::kNeedMore);
}

// Issue 16: a 200 MB chunked body was buffered before the 413.
TEST(RequestReader, ChunkedBodyIsCutOffAtTheLimit) {
  RequestReader reader(limits());
  feed(reader, chunked(""));
  ASSERT_EQ(reader.advance(), RequestReader::Step::kNeedMore);
  std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";  // 64 KiB per chunk
  int sent = 0;
  RequestReader::Step step = RequestReader::Step::kNeedMore;
  while (step == RequestReader::Step::kNeedMore && sent < 100) {
    feed(reader, chunk);
    ++sent;
    step = reader.advance();
  }
  ASSERT_EQ(step, RequestReader::Step::kReject);
  EXPECT_EQ(reader.rejection().status, 413);
  EXPECT_EQ(sent, 9) << "rejected at the chunk that passes 512 KiB";
  EXPECT_EQ(reader.rejection().body,
            "Request body(589824 bytes) too large, max size: 524288 bytes");
  // One huge announced chunk is refused before its data.
  EXPECT_EQ(rejectStatus(chunked("7fffffffffffffff\r\n")), 413);
}

TEST(RequestReader, EndlessChunkLineIsRejected) {
  Outcome out = readAll(chunked("5;" + std::string(4000, 'e')), 64);
  ASSERT_EQ(out.last, RequestReader::Step::kReject);
  EXPECT_EQ(out.rejection.status, 400);
}

TEST(RequestReader, ExpectContinueIsReportedOnce) {
  Outcome out =
      readAll("PUT /v1/kv/a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", 60);
  EXPECT_EQ(out.continues, 1);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(out.requests[0]->body, "abc");
  // Too large: 413 instead of the interim answer.
  out = readAll("PUT /v1/kv/a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n");
  EXPECT_EQ(out.continues, 0);
  EXPECT_EQ(out.rejection.status, 413);
}

TEST(RequestReader, MidRequestAndMemory) {
  RequestReader reader(limits());
  EXPECT_FALSE(reader.midRequest());
  feed(reader, "GET / HT");
  EXPECT_EQ(reader.advance(), RequestReader::Step::kNeedMore);
  EXPECT_TRUE(reader.midRequest());
  feed(reader, "TP/1.1\r\n\r\n");
  EXPECT_EQ(reader.advance(), RequestReader::Step::kRequest);
  reader.take();
  EXPECT_FALSE(reader.midRequest());
  reader.releaseMemory();
}

TEST(Wire, BareLineFeed) {
  EXPECT_FALSE(hasBareLineFeed("GET / HTTP/1.1\r\nA: b\r\n\r\nbody\nwith\nlf"));
  EXPECT_TRUE(hasBareLineFeed("\n"));
  EXPECT_TRUE(hasBareLineFeed("GET / HTTP/1.1\r\nA: b\n"));
  EXPECT_FALSE(hasBareLineFeed("GET / HTTP/1.1\r\nA: b\r"));
}

TEST(Wire, SplitTarget) {
  auto t = splitTarget("/v1/kv/a?recurse&x=1#frag");
  EXPECT_EQ(t.path, "/v1/kv/a");
  EXPECT_EQ(t.raw_query, "recurse&x=1");
  t = splitTarget("http://127.0.0.1:8500/v1/status/leader?stale");
  EXPECT_EQ(t.path, "/v1/status/leader");
  EXPECT_EQ(t.raw_query, "stale");
  t = splitTarget("http://host");
  EXPECT_EQ(t.path, "/");
  t = splitTarget("/a/http://b");
  EXPECT_EQ(t.path, "/a/http://b");
  t = splitTarget("*");
  EXPECT_EQ(t.path, "*");
}

TEST(Wire, ResponseHeadFramesAndDropsInjectedHeaders) {
  HttpResponse r = textResponse(404, "nope");
  r.setHeader("X-Good", "1");
  r.setHeader("X-Bad", "a\r\nSet-Cookie: x");
  r.setHeader("Bad\nName", "1");
  std::string head = responseHead(r, false, "X-Extra: e\r\n");
  EXPECT_EQ(head,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\nConnection: close\r\nX-Extra: e\r\nX-Good: 1\r\n\r\n");
  r.status = 7;
  EXPECT_TRUE(responseHead(r, true, "").starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
}

}  // namespace
}  // namespace cairn::http

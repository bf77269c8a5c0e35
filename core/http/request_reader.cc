#include "core/http/request_reader.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "core/http/query.h"
#include "core/http/wire.h"

namespace cairn::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

class RequestReader::Impl {
 public:
  explicit Impl(ReaderLimits limits) : limits_(std::move(limits)) {
    on_chunk_ = [this](uint64_t size, beast::string_view, beast::error_code& ec) {
      onChunkHeader(size, ec);
    };
  }

  beast::flat_buffer buf;
  // Allocated per request: an idle connection or one waiting for its answer holds none.
  std::unique_ptr<bhttp::request_parser<bhttp::string_body>> parser;
  std::shared_ptr<HttpRequest> request;  // built when the header is complete
  bool continue_sent = false;
  bool too_large = false;
  uint64_t announced = 0;  // chunk sizes announced so far
  size_t max_body = 0;

  const ReaderLimits& limits() const { return limits_; }

  void startParser() {
    parser = std::make_unique<bhttp::request_parser<bhttp::string_body>>();
    parser->header_limit(static_cast<uint32_t>(limits_.max_header_bytes));
    // Ours is per route, enforced below. Not boost::none: Beast 1.74 compares `len > none`, which
    // is true, and would refuse every body.
    parser->body_limit(UINT64_MAX);
    parser->eager(false);  // stop after the header, so the route's limit applies
    parser->on_chunk_header(on_chunk_);
    request.reset();
    continue_sent = false;
    too_large = false;
    announced = 0;
    max_body = 0;
  }

  // Builds `request` from a complete header. A rejection when the request must not be served.
  std::optional<HttpResponse> onHeader() {
    auto& msg = parser->get();
    request = std::make_shared<HttpRequest>();
    if (msg.version() != 11 && msg.version() != 10) {
      return textResponse(505, "HTTP version not supported (1.0 and 1.1 are)");
    }
    request->method = std::string(sv(msg.method_string()));
    SplitTarget target = splitTarget(sv(msg.target()));
    auto path = percentDecode(target.path, false);
    if (!path || hasControlBytes(*path)) {
      return textResponse(400, "Invalid URL path: contains invalid or non-printable characters");
    }
    if (hasControlBytes(target.raw_query)) {
      return textResponse(400, "Invalid query: contains non-printable characters");
    }
    request->path = std::move(*path);
    request->raw_query = std::string(target.raw_query);
    request->query = QueryParams::parse(request->raw_query);
    for (const auto& field : msg) {
      request->headers[lower(sv(field.name_string()))] = std::string(sv(field.value()));
    }
    // Beast frames only chunked bodies; any other coding would leave the body unframed.
    if (request->headers.count("transfer-encoding") && !parser->chunked()) {
      return textResponse(400, "Bad request: unsupported Transfer-Encoding (only chunked)");
    }
    max_body = limits_.max_body ? limits_.max_body(request->path) : 0;
    if (auto declared = parser->content_length(); declared && *declared > max_body) {
      return textResponse(413, tooLargeText(*declared, max_body));
    }
    return std::nullopt;
  }

 private:
  void onChunkHeader(uint64_t size, beast::error_code& ec) {
    announced = size > UINT64_MAX - announced ? UINT64_MAX : announced + size;
    if (announced > max_body) {
      too_large = true;
      ec = bhttp::error::body_limit;
    }
  }

  ReaderLimits limits_;
  std::function<void(uint64_t, beast::string_view, beast::error_code&)> on_chunk_;
};

RequestReader::RequestReader(ReaderLimits limits)
    : impl_(std::make_unique<Impl>(std::move(limits))) {}

RequestReader::~RequestReader() = default;

std::span<char> RequestReader::prepare(size_t n) {
  auto b = impl_->buf.prepare(n);
  return {static_cast<char*>(b.data()), b.size()};
}

void RequestReader::commit(size_t n) { impl_->buf.commit(n); }

bool RequestReader::midRequest() const {
  return impl_->buf.size() > 0 || (impl_->parser && impl_->parser->got_some());
}

bool RequestReader::readingBody() const {
  return impl_->parser && impl_->parser->is_header_done() && !impl_->parser->is_done();
}

void RequestReader::releaseMemory() {
  if (impl_->buf.size() == 0) impl_->buf.shrink_to_fit();
}

namespace {

HttpResponse badRequest(std::string_view what) {
  return textResponse(400, "Bad request: " + std::string(what));
}

}  // namespace

RequestReader::Step RequestReader::advance() {
  Impl& s = *impl_;
  auto reject = [this](HttpResponse r) {
    rejection_ = std::make_unique<HttpResponse>(std::move(r));
    keep_alive_ = false;
    return Step::kReject;
  };
  if (!s.parser) s.startParser();
  auto& p = *s.parser;
  beast::error_code ec;
  if (!p.is_header_done()) {
    auto data = s.buf.data();
    if (hasBareLineFeed({static_cast<const char*>(data.data()), data.size()})) {
      return reject(badRequest("bare LF line ending (CRLF required)"));
    }
    if (data.size() == 0) return Step::kNeedMore;
    s.buf.consume(p.put(data, ec));
    if (ec == bhttp::error::need_more) return Step::kNeedMore;
    if (ec == bhttp::error::header_limit) {
      return reject(textResponse(431, "Request header fields too large (limit " +
                                          std::to_string(s.limits().max_header_bytes) + " bytes)"));
    }
    if (ec) return reject(badRequest(ec.message()));
    if (!p.is_header_done()) return Step::kNeedMore;
    if (auto r = s.onHeader()) return reject(std::move(*r));
  }
  if (!p.is_done()) {
    if (!s.continue_sent && s.request->headers.count("expect") &&
        equalsIgnoreCase(s.request->headers["expect"], "100-continue")) {
      s.continue_sent = true;
      return Step::kContinue;
    }
    p.eager(true);
    auto data = s.buf.data();
    if (data.size() == 0) return Step::kNeedMore;
    size_t used = p.put(data, ec);
    s.buf.consume(used);
    if (s.too_large) return reject(textResponse(413, tooLargeText(s.announced, s.max_body)));
    if (ec == bhttp::error::need_more) {
      // A chunk-size line or trailer that never ends must not grow the buffer without bound.
      if (used == 0 && s.buf.size() > s.limits().max_header_bytes) {
        return reject(badRequest("chunk header or trailer too long"));
      }
      return Step::kNeedMore;
    }
    if (ec) return reject(badRequest(ec.message()));
    if (!p.is_done()) return Step::kNeedMore;
  }
  keep_alive_ = p.keep_alive();
  s.request->body = std::move(p.get().body());
  return Step::kRequest;
}

std::shared_ptr<HttpRequest> RequestReader::take() {
  auto request = std::move(impl_->request);
  impl_->parser.reset();
  return request;
}

}  // namespace cairn::http

#pragma once
// TcpProber: Consul's TCP check on Boost.Asio. Resolves host:port, tries every address in order and
// passes on the first connection ("TCP connect <addr>: Success"; with tcp_use_tls, after a TLS
// handshake: "TCP+TLS connect <addr>: Success"). Any failure, or the timeout, is critical with the
// error. Completions run on the io_context's thread.

#include <boost/asio/io_context.hpp>
#include <memory>

#include "core/health/prober.h"

namespace cairn::health {

// `definition` must be a normalized TCP check; `io` must outlive the prober and its probes (run by
// one thread).
std::shared_ptr<Prober> makeTcpProber(boost::asio::io_context& io,
                                      const CheckDefinition& definition);

// "connection refused" from "Connection refused": Go's error wording starts lower case.
std::string lowerFirst(std::string text);

}  // namespace cairn::health

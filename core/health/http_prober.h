#pragma once
// HttpProber: Consul's HTTP check on cpprestsdk's asynchronous http_client. Passing on 2xx, warning
// on 429, critical on any other code or a transport error. Output
// "HTTP <METHOD> <url>: <code> <reason> Output: <last output_max_size bytes of the body>".
// Redirects (301/302/303/307/308, at most 10) are followed here unless disable_redirects.
// Completions run on cpprestsdk's thread pool.

#include <memory>

#include "core/base/status.h"
#include "core/health/prober.h"

namespace cairn::health {

// `definition` must be a normalized HTTP check. kInvalidArgument when cpprestsdk rejects the URL.
StatusOr<std::shared_ptr<Prober>> makeHttpProber(const CheckDefinition& definition);

}  // namespace cairn::health

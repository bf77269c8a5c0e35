#pragma once
// Results of ACL reads: the stored rows plus the index a read reports (the table's, never 0).

#include <cstdint>
#include <optional>
#include <vector>

#include "cairn/v1/acl.pb.h"

namespace cairn::store {

template <typename Row>
struct AclRead {
  std::optional<Row> row;  // absent: not found
  uint64_t index = 1;
};

template <typename Row>
struct AclList {
  std::vector<Row> rows;  // in ID order
  uint64_t index = 1;
};

// Everything needed to decide what a token may do: the token and the policies it holds directly
// or through its roles (each once; links to deleted policies or roles are dropped).
struct AclIdentity {
  v1::AclToken token;
  std::vector<v1::AclPolicy> policies;
  std::vector<v1::AclRole> roles;
};

}  // namespace cairn::store

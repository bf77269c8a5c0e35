#pragma once
// The cryptographic helpers of the ACL system: token IDs and secrets from the operating system's
// CSPRNG (OpenSSL RAND_bytes, never a seeded PRNG: a secret must not be guessable from others),
// secret comparison in constant time, and the Hash field of tokens, policies and roles.
//
// Threading: every function is thread-safe.

#include <string>
#include <string_view>

namespace cairn::acl {

// A random (version 4) UUID in lower-case 8-4-4-4-12 form, 122 bits from the CSPRNG.
std::string randomUuid();

// Equality that takes the same time for every pair of equal-length inputs (the length of the
// expected secret is not secret: Consul's are all UUIDs).
bool constantTimeEquals(std::string_view a, std::string_view b);

// SHA-256 of `data`, as the 32 raw bytes.
std::string sha256(std::string_view data);

}  // namespace cairn::acl

#pragma once
// The TLS flags of every program that talks to Cairn as a client: `cairn` commands (to an
// agent's HTTPS API) and cairn-sidecar (gRPC to the servers). One definition, so that the flag
// names, their environment defaults ($CAIRN_* then $CONSUL_*) and resolveClientTls()'s checks
// stay the same everywhere.

#include "core/client/api_client.h"
#include "core/config/flag_set.h"

namespace cairn::client {

// Whose certificate -ca-file checks; only the help texts differ.
enum class TlsPeer {
  kAgentHttps,  // an agent's HTTPS API (the CLI)
  kServerRpc,   // the servers' RPC port (a client agent such as the sidecar)
};

// -ca-file, -client-cert and -client-key into `o`'s fields of the same names; resolve them with
// resolveClientTls(), which applies the environment defaults and refuses a certificate without
// its key (or a file it cannot read).
void addClientTlsFlags(config::FlagSet& fs, HttpOptions* o, TlsPeer peer);

}  // namespace cairn::client

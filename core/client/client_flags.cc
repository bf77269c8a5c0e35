#include "core/client/client_flags.h"

namespace cairn::client {

void addClientTlsFlags(config::FlagSet& fs, HttpOptions* o, TlsPeer peer) {
  bool https = peer == TlsPeer::kAgentHttps;
  fs.addString("ca-file", &o->ca_file,
               std::string(https ? "CA file to check the agent's HTTPS certificate with."
                                 : "CA of the servers' certificates: gRPC to them uses TLS.") +
                   " Default: $CAIRN_CACERT, else $CONSUL_CACERT.");
  fs.addString("client-cert", &o->client_cert,
               std::string(https ? "Client certificate for agents with verify_incoming."
                                 : "Certificate shown to servers with verify_incoming.") +
                   " Default: $CAIRN_CLIENT_CERT, else $CONSUL_CLIENT_CERT.");
  fs.addString("client-key", &o->client_key,
               "Key of -client-cert. Default: $CAIRN_CLIENT_KEY, else $CONSUL_CLIENT_KEY.");
}

}  // namespace cairn::client

// `cairn tls ca create` and `cairn tls cert create`: consul tls's flags, file names and messages.
// The certificates are made by core/tls/cert_gen.h; files are written in the current directory
// and never overwritten.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/cli/commands.h"
#include "core/tls/cert_gen.h"

namespace cairn::cli {
namespace {

constexpr char kUsage[] = R"(Usage: cairn tls <subcommand> <subcommand> [options]

  This command has subcommands for creating certificates for TLS between
  Cairn agents (docs/security.md, "TLS"):

      $ cairn tls ca create
      $ cairn tls cert create -server
      $ cairn tls cert create -client

Subcommands:
    ca      Helpers for CAs
    cert    Helpers for certificates
)";

constexpr char kCaUsage[] = R"(Usage: cairn tls ca <subcommand> [options]

Subcommands:
    create    Create a new Cairn CA
)";

constexpr char kCertUsage[] = R"(Usage: cairn tls cert <subcommand> [options]

Subcommands:
    create    Create a new certificate
)";

constexpr char kCaCreateHelp[] = R"(Usage: cairn tls ca create [options]

  Creates a new CA for agents, <domain>-agent-ca.pem and
  <domain>-agent-ca-key.pem in the current directory:

      $ cairn tls ca create
      ==> Saved consul-agent-ca.pem
      ==> Saved consul-agent-ca-key.pem
)";

constexpr char kCertCreateHelp[] = R"(Usage: cairn tls cert create [options]

  Creates a new certificate signed by the CA, in the current directory, named
  <dc>-<server|client>-<domain>-<n>.pem with the first free <n>:

      $ cairn tls cert create -server
      ==> WARNING: Server Certificates grants authority to become a
          server and access all state in the cluster. This certificate
          needs to be kept private and not be used for client agents.
      ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
      ==> Saved dc1-server-consul-0.pem
      ==> Saved dc1-server-consul-0-key.pem
)";

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::optional<std::string> readAll(const std::string& path, CliIo& io) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    io.err << "Error reading " << path << ": " << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool noArguments(const FlagSet& fs, CliIo& io) {
  if (fs.args().empty()) return true;
  io.err << "Unexpected argument: " << fs.args().front() << "\n";
  return false;
}

int caCreate(const std::vector<std::string>& args, CliIo& io) {
  tls::CaRequest request;
  FlagSet fs;
  fs.addInt("days", &request.days, "Days the CA is valid for (default 1825).");
  fs.addString("domain", &request.domain, "Domain of the agents (default consul).");
  fs.addString("common-name", &request.common_name, "Common name of the CA.");
  if (auto code = parseFlags(fs, args, commandHelp(kCaCreateHelp, fs), io)) return *code;
  if (!noArguments(fs, io)) return 1;
  if (request.days <= 0) {
    io.err << "-days must be positive\n";
    return 1;
  }
  std::string base = request.domain + "-agent-ca";
  for (const std::string& f : {base + ".pem", base + "-key.pem"}) {
    if (exists(f)) {
      io.err << f << " already exists\n";
      return 1;
    }
  }
  auto ca = tls::createCa(request);
  if (!ca.isOk()) {
    io.err << "Error creating the CA: " << ca.status().message() << "\n";
    return 1;
  }
  if (Status s = tls::writePemPair("", base, *ca); !s.isOk()) {
    io.err << "Error writing the CA: " << s.message() << "\n";
    return 1;
  }
  io.out << "==> Saved " << base << ".pem\n==> Saved " << base << "-key.pem\n";
  return 0;
}

int certCreate(const std::vector<std::string>& args, CliIo& io) {
  tls::CertRequest request;
  bool server = false, client = false, cli = false;
  std::string ca_file, key_file;
  FlagSet fs;
  fs.addBool("server", &server, "Create a server certificate.");
  fs.addBool("client", &client, "Create a client certificate.");
  fs.addBool("cli", &cli, "Create a certificate for the CLI (a client certificate).");
  fs.addString("dc", &request.datacenter, "Datacenter (default dc1).");
  fs.addString("domain", &request.domain, "Domain (default consul).");
  fs.addString("node", &request.node, "Server: also name <node>.server.<dc>.<domain>.");
  fs.addString("ca", &ca_file, "The CA certificate (default <domain>-agent-ca.pem).");
  fs.addString("key", &key_file, "The CA key (default <domain>-agent-ca-key.pem).");
  fs.addInt("days", &request.days, "Days the certificate is valid for (default 365).");
  fs.addStringList("additional-dnsname", &request.extra_dns, "Another DNS name (repeatable).");
  fs.addStringList("additional-ipaddress", &request.extra_ips, "Another IP address (repeatable).");
  if (auto code = parseFlags(fs, args, commandHelp(kCertCreateHelp, fs), io)) return *code;
  if (!noArguments(fs, io)) return 1;
  if (int(server) + int(client) + int(cli) != 1) {
    io.err << "Please provide exactly one of -server, -client or -cli\n";
    return 1;
  }
  if (request.days <= 0) {
    io.err << "-days must be positive\n";
    return 1;
  }
  request.server = server;
  if (ca_file.empty()) ca_file = request.domain + "-agent-ca.pem";
  if (key_file.empty()) key_file = request.domain + "-agent-ca-key.pem";
  auto ca_pem = readAll(ca_file, io);
  auto key_pem = ca_pem ? readAll(key_file, io) : std::nullopt;
  if (!key_pem) return 1;
  auto cert = tls::createCert({*ca_pem, *key_pem}, request);
  if (!cert.isOk()) {
    io.err << "Error creating the certificate: " << cert.status().message() << "\n";
    return 1;
  }
  std::string kind = server ? "server" : (cli ? "cli" : "client");
  std::string prefix = request.datacenter + "-" + kind + "-" + request.domain + "-";
  int n = 0;
  while (exists(prefix + std::to_string(n) + ".pem") ||
         exists(prefix + std::to_string(n) + "-key.pem")) {
    ++n;
  }
  std::string base = prefix + std::to_string(n);
  if (server) {
    io.out << "==> WARNING: Server Certificates grants authority to become a\n"
              "    server and access all state in the cluster. This certificate\n"
              "    needs to be kept private and not be used for client agents.\n";
  }
  io.out << "==> Using " << ca_file << " and " << key_file << "\n";
  if (Status s = tls::writePemPair("", base, *cert); !s.isOk()) {
    io.err << "Error writing the certificate: " << s.message() << "\n";
    return 1;
  }
  io.out << "==> Saved " << base << ".pem\n==> Saved " << base << "-key.pem\n";
  return 0;
}

int ca(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand("tls ca", kCaUsage, {{"create", caCreate}}, args, io);
}

int cert(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand("tls cert", kCertUsage, {{"create", certCreate}}, args, io);
}

}  // namespace

int runTls(const std::vector<std::string>& args, CliIo& io) {
  return dispatchSubcommand("tls", kUsage, {{"ca", ca}, {"cert", cert}}, args, io);
}

}  // namespace cairn::cli

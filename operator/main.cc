// cairn-operator: reconciles CairnCluster objects (docs/operator.md). Runs until SIGINT/SIGTERM.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "core/base/stop_signals.h"
#include "operator/operator_process.h"

namespace {

void usage() {
  std::cerr
      << "usage: cairn-operator [-kubeconfig PATH] [-namespace NS] [-metrics-addr HOST:PORT]\n"
         "                      [-leader-elect=true|false] [-lease-name NAME]\n"
         "                      [-lease-namespace NS] [-lease-duration-s N] [-resync-ms N]\n"
      << cairn::op::webhookFlagsUsage();
}

}  // namespace

int main(int argc, char** argv) {
  cairn::op::OperatorOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string val;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      val = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg != "-leader-elect" && i + 1 < argc) {
      val = argv[++i];
    }
    if (arg == "-kubeconfig") {
      options.kubeconfig = val;
    } else if (arg == "-namespace") {
      options.watch_namespace = val;
    } else if (arg == "-metrics-addr") {
      options.metrics_addr = val;
    } else if (arg == "-leader-elect") {
      options.leader_elect = val.empty() || val == "true";
    } else if (arg == "-lease-name") {
      options.lease_name = val;
    } else if (arg == "-lease-namespace") {
      options.lease_namespace = val;
    } else if (arg == "-lease-duration-s") {
      int seconds = std::atoi(val.c_str());
      if (seconds < 2) {
        std::cerr << "cairn-operator: -lease-duration-s wants at least 2 seconds\n";
        return 2;
      }
      options.lease_duration = std::chrono::seconds(seconds);
    } else if (arg == "-resync-ms") {
      options.resync = std::chrono::milliseconds(std::atoi(val.c_str()));
    } else if (auto webhook = cairn::op::webhookFlag(arg, val, &options.webhook);
               !webhook.isOk() || *webhook) {
      if (!webhook.isOk()) {
        std::cerr << "cairn-operator: " << webhook.status().message() << "\n";
        return 2;
      }
    } else {
      usage();
      return 2;
    }
  }
  cairn::StopSignals signals;  // before any thread starts: only wait() below sees them
  cairn::op::Operator op(options);
  if (auto s = op.start(); !s.isOk()) {
    std::cerr << "cairn-operator: " << s.toString() << "\n";
    return 1;
  }
  std::cerr << "cairn-operator: serving /metrics on port " << op.metricsPort() << "\n";
  if (op.webhookPort() != 0) {
    std::cerr << "cairn-operator: serving the webhook on port " << op.webhookPort() << "\n";
  }
  signals.wait();
  op.stop();
  return 0;
}

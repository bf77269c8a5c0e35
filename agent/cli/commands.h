#pragma once
// The `cairn` command line: `cairn agent`, `cairn version`, `cairn kv ...`, `cairn members`,
// `cairn join`, `cairn leave`, `cairn force-leave`,
// `cairn operator raft ...`, `cairn snapshot ...`, `cairn lock`, `cairn event`, `cairn watch`,
// `cairn acl ...`.
// Each command returns the process exit code (0 success, 1 error or usage error; `lock` 2 for a
// failed child with -child-exit-code) and writes only to its CliIo.

#include <functional>
#include <string>
#include <vector>

#include "agent/cli/cli_common.h"
#include "core/config/agent_config.h"

namespace cairn::cli {

// Runs the agent in the foreground (agent::runAgent in the binary; a fake in tests).
using AgentRunner = std::function<int(const config::AgentConfig&)>;

// Dispatches argv[1..] to a command.
int runCli(const std::vector<std::string>& args, CliIo& io, const AgentRunner& run_agent);

int runAgentCommand(const std::vector<std::string>& args, CliIo& io, const AgentRunner& run_agent);
int runVersion(const std::vector<std::string>& args, CliIo& io);
int runKv(const std::vector<std::string>& args, CliIo& io);
int runKvPut(const std::vector<std::string>& args, CliIo& io);
int runKvGet(const std::vector<std::string>& args, CliIo& io);
int runKvDelete(const std::vector<std::string>& args, CliIo& io);
int runKvExport(const std::vector<std::string>& args, CliIo& io);
int runKvImport(const std::vector<std::string>& args, CliIo& io);
int runMembers(const std::vector<std::string>& args, CliIo& io);
int runJoin(const std::vector<std::string>& args, CliIo& io);
int runLeave(const std::vector<std::string>& args, CliIo& io);
int runForceLeave(const std::vector<std::string>& args, CliIo& io);
int runOperator(const std::vector<std::string>& args, CliIo& io);
int runOperatorRaft(const std::vector<std::string>& args, CliIo& io);
int runOperatorRaftListPeers(const std::vector<std::string>& args, CliIo& io);
int runOperatorRaftRemovePeer(const std::vector<std::string>& args, CliIo& io);
int runOperatorRaftTransferLeader(const std::vector<std::string>& args, CliIo& io);
int runSnapshot(const std::vector<std::string>& args, CliIo& io);
int runSnapshotSave(const std::vector<std::string>& args, CliIo& io);
int runSnapshotRestore(const std::vector<std::string>& args, CliIo& io);
int runLock(const std::vector<std::string>& args, CliIo& io);
int runEvent(const std::vector<std::string>& args, CliIo& io);
int runWatch(const std::vector<std::string>& args, CliIo& io);
// `cairn acl bootstrap|token|policy ...` (acl.cc).
int runAcl(const std::vector<std::string>& args, CliIo& io);
// The everyday Consul commands of the toolbox (docs/cli.md): catalog.cc, services.cc,
// agent_commands.cc (reload, maint, info), validate.cc, operator_autopilot.cc.
int runCatalog(const std::vector<std::string>& args, CliIo& io);
int runServices(const std::vector<std::string>& args, CliIo& io);
int runReload(const std::vector<std::string>& args, CliIo& io);
int runMaint(const std::vector<std::string>& args, CliIo& io);
int runInfo(const std::vector<std::string>& args, CliIo& io);
int runValidate(const std::vector<std::string>& args, CliIo& io);
int runOperatorAutopilot(const std::vector<std::string>& args, CliIo& io);
// Part 2 of the toolbox: monitor.cc, exec.cc (remote execution), snapshot_inspect.cc.
int runMonitor(const std::vector<std::string>& args, CliIo& io);
int runExec(const std::vector<std::string>& args, CliIo& io);
int runSnapshotInspect(const std::vector<std::string>& args, CliIo& io);
// `cairn tls ca create`, `cairn tls cert create` (tls.cc).
int runTls(const std::vector<std::string>& args, CliIo& io);
// `cairn template` (template.cc, template_runner.cc; docs/template.md).
int runTemplate(const std::vector<std::string>& args, CliIo& io);

}  // namespace cairn::cli

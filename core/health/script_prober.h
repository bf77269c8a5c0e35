#pragma once
// ScriptProber: Consul's script check. Spawns argv (PATH lookup, no shell) in its own process group
// with stdin from /dev/null and stdout+stderr into one pipe, read asynchronously on the
// io_context's thread; the exit is observed through a pidfd, so no thread waits per process.
// Exit 0 passing, 1 warning, anything else (or a signal) critical; output is the last
// output_max_size bytes (scriptOutput()). On timeout the whole process group is killed (SIGKILL)
// and the result is critical "Timed out (<timeout>) running check" plus the output, reported
// without flap damping, as Consul does; so is a failure to spawn.

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/health/prober.h"

namespace cairn::health {

// `definition` must be a normalized script check; `io` must outlive the prober and its probes (run
// by one thread). A process still running when `io` is destroyed is killed and reaped.
std::shared_ptr<Prober> makeScriptProber(boost::asio::io_context& io,
                                         const CheckDefinition& definition);

// Spawns argv (PATH lookup) in a process group of its own, stdin from /dev/null, stdout and
// stderr on `out_fd`, no other descriptor inherited; the pid, or -errno. Also used by the agent's
// remote execution (agent/remote_exec.h).
pid_t spawnInProcessGroup(const std::vector<std::string>& args, int out_fd);

}  // namespace cairn::health

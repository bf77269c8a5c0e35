#pragma once
// RemoteExec: this agent's side of `cairn exec` / `consul exec` (Consul's remote execution job
// protocol, docs/cli.md "exec"). Runs only when the agent's disable_remote_exec is false; the
// default is true, as in Consul, because anyone who may write KV and fire events could otherwise
// run commands on every agent.
//
// The protocol, all through this agent's own HTTP API:
//   1. `cairn exec` creates a session, writes the job spec (JSON: Command, Args, Script, Wait)
//      to <prefix>/<session>/job and fires a user event "_rexec" whose payload is
//      {"Prefix": <prefix>, "Session": <session>}, with the -node/-service/-tag filters.
//   2. This agent watches GET /v1/event/list?name=_rexec (a blocking query, which lists only the
//      events whose filters match this agent) and, for each new event, reads the job, writes
//      <prefix>/<session>/<node>/ack, runs the command (sh -c, or Args without a shell) in its
//      own process group, writes its output in chunks of at most 4 KiB to out/<seq, 5 hex
//      digits> (flushed after 500 ms of quiet; an empty chunk is a heartbeat after Wait with no
//      output) and finally its exit code to <node>/exit. Every key is written with
//      ?acquire=<session>, so nothing is written once the session is gone: the job is then
//      killed.
//
// Threading: one thread watches events; each job runs on a thread of its own (a job blocks on
// its pipe and its writes). stop() kills running jobs' process groups and joins every thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/client/api_client.h"
#include "core/config/agent_config.h"

namespace cairn::agent {

class RemoteExec {
 public:
  struct Options {
    std::string node_name;
    ::cairn::client::HttpOptions api;  // this agent's own HTTP API (address, token)
    std::chrono::seconds list_wait{30};
  };

  // The runner for an agent serving plain HTTP on `http_port`; null when remote execution is
  // disabled (the default) or the agent has no plain HTTP port (logged).
  static std::unique_ptr<RemoteExec> startFor(const config::AgentConfig& config, int http_port,
                                              const std::string& node_name);

  explicit RemoteExec(Options options);
  ~RemoteExec();
  void start();
  void stop();

  struct Job;  // remote_exec.cc

 private:
  void watchLoop();
  void handleEvent(const std::string& payload);

  const Options options_;
  ::cairn::client::Cancellation cancel_;
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
  std::mutex mu_;  // guards jobs_
  std::vector<std::shared_ptr<Job>> jobs_;
};

}  // namespace cairn::agent

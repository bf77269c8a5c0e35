#pragma once
// Membership without gossip over HTTP (membership_handlers.cc; docs/agent.md, "Membership"):
// GET /v1/agent/members (the Raft servers and the client agents of the replicated member
// records, with Consul's fields and status codes), PUT /v1/agent/join/<address>,
// PUT /v1/agent/leave and PUT /v1/agent/force-leave/<node>[?prune]. What needs the servers'
// membership machinery comes in through MembershipHooks, so this file links none of it.
//
// A client agent serves the same paths (addClientMembershipRoutes): members and force-leave are
// asked of a server, so that a client lists exactly what the servers list, written by the same
// code; only when no server answers does it list its own view (itself and the servers it knows).

#include <functional>
#include <string>

#include "core/base/status.h"
#include "core/http/agent_context.h"
#include "core/http/api_context.h"
#include "core/http/router.h"

namespace cairn::http {

struct MembershipHooks {
  // Marks a client member left (or removes its record, `prune`) and deregisters its node;
  // kNotFound for an unknown client. Null: force-leave of a client answers 500.
  std::function<void(const std::string& node, bool prune, std::function<void(Status)> done)>
      force_leave;
  // Starts this agent's graceful leave and shutdown after the answer is sent. Null: 500.
  std::function<void()> leave;
};

// `ctx` outlives the router.
void addMembershipRoutes(Router& router, ApiContext& ctx, MembershipHooks hooks);

// Sends `request` to a server and answers with the server's response; when no server answers in
// time it calls `unreachable` (with why) instead of answering.
using ForwardToServer =
    std::function<void(RequestPtr request, Responder respond,
                       std::function<void(const std::string& why)> unreachable)>;

struct ClientMembershipHooks {
  ForwardToServer forward;
  // Starts this agent's graceful leave and shutdown after the answer is sent. Null: 500.
  std::function<void()> leave;
  // PUT /v1/agent/join/<address> (never empty): contacts the server(s) at `address` and adds
  // those that answer to the ones this agent may use; answers 200 with an empty body, or 500
  // with why (Consul's words). Null: 500.
  std::function<void(const std::string& address, Responder respond)> join;
};

// A client agent's GET /v1/agent/members and PUT /v1/agent/force-leave/<node> (both forwarded),
// PUT /v1/agent/leave, and PUT /v1/agent/join/<address> (`hooks.join`).
// `ctx.members` is the view listed when no server answers. `ctx` outlives the router.
void addClientMembershipRoutes(Router& router, AgentApiContext& ctx, ClientMembershipHooks hooks);

}  // namespace cairn::http

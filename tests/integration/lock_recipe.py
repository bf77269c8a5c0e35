"""The leader-election recipe of docs/sessions.md as a program: a contender that elects itself
through a session and `?acquire=`, and acts as leader only while its hold deadline lasts.

    lock_recipe.py <http-addr> <key> <holder-id> <ticks-file>

While it leads it appends "<holder-id> <token> <monotonic time>" to <ticks-file> every 50 ms
(the "work" a leader does), carrying a fencing token: the key's ModifyIndex as of its acquire, a
Raft index, so it grows from holder to holder even when the key is deleted in between (LockIndex
starts again at 1 on a new key, which `cairn lock`'s cleanup makes). Rules it follows
(the recipe):
  * the session (TTL 15 s, LockDelay 15 s, bound to the agent's serfHealth) is renewed every
    7.5 s from the moment it exists, while waiting too; a 404 means it is gone: start again;
  * every answer is dated by the moment its request was SENT;
  * after a successful acquire, or a ?consistent read showing the key held by its session, it may
    act until that moment + 15 s, and never later than the last accepted renew + 30 s: the
    servers need 10 s to declare a silent node failed (or 2 x TTL for the TTL) and then keep the
    key locked for the 15 s lock delay, so no one else can lead before;
  * it checks the deadline immediately before each action and stops leading when it passed;
  * what it writes carries the token, so a resource can refuse a stale leader's late write.
Exits 0 when it stepped down (the caller starts it again), 1 on a usage error.
"""
import http.client
import json
import os
import sys
import threading
import time

LOCK_FLAGS = 0x2ddccbc058a50c18  # the flags `cairn lock` / Consul's lock use on <prefix>/.lock
TTL = 15.0
CONFIRM_WINDOW = 15.0
RENEW_WINDOW = 30.0


class Agent:
    def __init__(self, addr):
        self.host, port = addr.rsplit(":", 1)
        self.port = int(port)

    def call(self, method, path, body=None, timeout=5.0):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body)
            r = conn.getresponse()
            return r.status, r.getheader("X-Consul-Index"), r.read()
        finally:
            conn.close()


class Session:
    def __init__(self, agent):
        self.agent = agent
        status, _, body = agent.call("PUT", "/v1/session/create",
                                     json.dumps({"Name": "recipe", "TTL": "15s"}))
        if status != 200:
            raise OSError(f"session create: {status} {body!r}")
        self.id = json.loads(body)["ID"]
        self.renewed = time.monotonic()  # a lower bound: the create was sent before now
        self.lost = False
        self.stop = False
        threading.Thread(target=self._renew, daemon=True).start()

    def _renew(self):
        next_at = time.monotonic() + TTL / 2
        while not self.stop and not self.lost:
            time.sleep(0.05)
            if time.monotonic() < next_at:
                continue
            sent = time.monotonic()
            try:
                status, _, _ = self.agent.call("PUT", f"/v1/session/renew/{self.id}")
            except OSError:
                status = 0
            if status == 404:
                self.lost = True
            elif status == 200:
                self.renewed = sent
                next_at = sent + TTL / 2
            else:
                next_at = time.monotonic() + 1.0

    def destroy(self):
        self.stop = True
        try:
            self.agent.call("PUT", f"/v1/session/destroy/{self.id}")
        except OSError:
            pass


def read_key(agent, key, query, timeout):
    status, index, body = agent.call("GET", f"/v1/kv/{key}?{query}", timeout=timeout)
    if status == 404:
        return None, int(index or 0)
    if status != 200:
        raise OSError(f"read: {status}")
    return json.loads(body)[0], int(index or 0)


def lead(agent, key, session, acquired_sent, holder, ticks):
    deadline = acquired_sent + CONFIRM_WINDOW
    token = None
    last_look = 0.0
    with open(ticks, "a", buffering=1) as out:
        while True:
            now = time.monotonic()
            if now - last_look >= 1.0:
                sent = now
                try:
                    entry, _ = read_key(agent, key, "consistent", timeout=3.0)
                except (OSError, ValueError, http.client.HTTPException):
                    entry = "unknown"
                last_look = time.monotonic()
                if entry is None or (entry != "unknown" and entry.get("Session") != session.id):
                    return  # the key changed hands: step down at once
                if entry != "unknown":
                    deadline = max(deadline, sent + CONFIRM_WINDOW)
                    if token is None:
                        token = entry["ModifyIndex"]  # the acquire's index: nobody wrote since
            deadline = min(deadline, session.renewed + RENEW_WINDOW)
            if session.lost:
                return
            now = time.monotonic()
            if now >= deadline:
                return
            if token is not None:
                out.write(f"{holder} {token} {now:.6f}\n")
            time.sleep(0.05)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 1
    addr, key, holder, ticks = sys.argv[1:]
    agent = Agent(addr)
    try:
        session = Session(agent)
    except (OSError, ValueError, http.client.HTTPException):
        time.sleep(1.0)
        return 0
    index = 0
    try:
        while not session.lost:
            try:
                query = f"index={index}&wait=3s" if index else ""
                entry, index = read_key(agent, key, query, timeout=8.0)
                if entry is not None and entry.get("Session"):
                    continue
                sent = time.monotonic()
                status, _, body = agent.call(
                    "PUT", f"/v1/kv/{key}?acquire={session.id}&flags={LOCK_FLAGS}",
                    body=holder.encode())
                if status == 200 and body.strip() == b"true":
                    lead(agent, key, session, sent, holder, ticks)
                    return 0
                index = 0
                time.sleep(1.0)  # refused on a free key: a lock delay
            except (OSError, ValueError, http.client.HTTPException):
                index = 0
                time.sleep(1.0)
    finally:
        # Step down: release (voluntary: no lock delay for the next leader) and end the session.
        try:
            agent.call("PUT", f"/v1/kv/{key}?release={session.id}&flags={LOCK_FLAGS}")
        except (OSError, http.client.HTTPException):
            pass
        session.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#include "agent/cli/lock_client.h"

#include <iostream>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

namespace cairn::cli::lock {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Consul's lock waits this long after an acquire refused on a free key (a lock delay).
constexpr auto kLockRetry = std::chrono::seconds(5);
// A waiter's blocking reads are short so that a stop signal or -timeout is honoured promptly.
constexpr auto kAcquireWait = std::chrono::seconds(3);
constexpr auto kRequestTimeout = std::chrono::seconds(10);

std::string waitParam(Clock::duration d) {
  auto ms = std::chrono::duration_cast<milliseconds>(d).count();
  return std::to_string(std::max<int64_t>(ms, 1)) + "ms";
}

// Blocking requests get the server's wait plus its jitter (wait/16) plus a margin.
ApiClient blockingClient(const ApiClient& api, Clock::duration wait) {
  auto ms = std::chrono::duration_cast<milliseconds>(wait);
  return api.withTimeout(ms + ms / 16 + milliseconds(3000));
}

// 5xx answers are retryable (kUnavailable), like transport errors; Consul's monitor retries both.
Status responseError(const HttpResponse& r) {
  Status s = unexpectedResponse(r);
  return r.status >= 500 ? unavailable(s.message()) : s;
}

struct KeyRead {
  std::optional<KvPair> pair;
  uint64_t index = 0;
};

Query readQuery(uint64_t index, Clock::duration wait, bool consistent) {
  Query q;
  if (index > 0) q = {{"index", std::to_string(index)}, {"wait", waitParam(wait)}};
  if (consistent) q.emplace_back("consistent", "");
  return q;
}

struct PrefixRead {
  std::vector<KvPair> pairs;
  uint64_t index = 0;
};

// One KV read (a key, or with `recurse` a prefix): its pairs ([] for a 404) and X-Consul-Index.
StatusOr<PrefixRead> readKv(const ApiClient& api, const std::string& path, Query q,
                            Clock::duration wait) {
  auto r = blockingClient(api, wait).send("GET", "/v1/kv/" + path, std::move(q), "", true);
  if (!r.isOk()) return r.status();
  PrefixRead out;
  out.index = r->index;
  if (r->status == 404) return out;
  if (r->status != 200) return responseError(*r);
  auto pairs = parseKvPairs(r->body);
  if (!pairs.isOk()) return pairs.status();
  out.pairs = std::move(*pairs);
  return out;
}

StatusOr<KeyRead> readKey(const ApiClient& api, const std::string& key, uint64_t index,
                          Clock::duration wait, bool consistent) {
  auto read = readKv(api, key, readQuery(index, wait, consistent), wait);
  if (!read.isOk()) return read.status();
  KeyRead out;
  out.index = read->index;
  if (!read->pairs.empty()) out.pair = std::move(read->pairs.front());
  return out;
}

StatusOr<PrefixRead> readPrefix(const ApiClient& api, const std::string& prefix, uint64_t index,
                                Clock::duration wait, bool consistent) {
  Query q = readQuery(index, wait, consistent);
  q.emplace_back("recurse", "");
  return readKv(api, prefix + "/", std::move(q), wait);
}

// A KV write answered true/false.
StatusOr<bool> writeKey(const ApiClient& api, const std::string& method, const std::string& key,
                        Query query, const std::string& body = "") {
  auto r = api.withTimeout(kRequestTimeout).send(method, "/v1/kv/" + key, std::move(query), body);
  if (!r.isOk()) return r.status();
  if (r->status != 200) return responseError(*r);
  return r->body.find("true") != std::string::npos;
}

Status wrap(const std::string& what, const Status& s) {
  return Status(s.code(), what + ": " + s.message());
}

// Sleeps up to `d`, in steps, until the control says stop. False when stopped.
bool pause(Clock::duration d, const AcquireControl& c) {
  auto until = Clock::now() + d;
  if (c.deadline) until = std::min(until, *c.deadline);
  while (Clock::now() < until) {
    if (c.stopped()) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return !c.stopped();
}

std::optional<Clock::duration> nextWait(const AcquireControl& c, int attempts) {
  return acquireWait(c.deadline, Clock::now(), attempts, kAcquireWait);
}

// The start of each waiting round: no wait when a stop signal came or the -timeout passed; the
// session made anew (`renewed`) when the servers invalidated it while we waited.
struct Round {
  std::optional<Clock::duration> wait;
  bool renewed = false;
};

StatusOr<Round> startRound(SessionKeeper& session, const AcquireControl& c, int attempts) {
  Round round;
  if (c.stopped()) return round;
  round.wait = nextWait(c, attempts);
  if (!round.wait || !session.lost()) return round;
  round.renewed = true;
  if (Status s = session.create(); !s.isOk()) return wrap("failed to create session", s);
  return round;
}

class KvLock final : public Contender {
 public:
  KvLock(const ApiClient& api, std::string prefix) : api_(api), key_(lockKey(prefix)) {}

  StatusOr<bool> acquire(SessionKeeper& session, const AcquireControl& c) override {
    uint64_t index = 0;
    for (int attempts = 0;; ++attempts) {
      auto round = startRound(session, c, attempts);
      if (!round.isOk()) return round.status();
      if (!round->wait) return false;
      auto wait = round->wait;
      auto read = readKey(api_, key_, index, *wait, false);
      if (!read.isOk()) return wrap("failed to read lock", read.status());
      const auto& pair = read->pair;
      if (pair && pair->flags != kLockFlagValue) {
        return conflict("Existing key does not match lock use");
      }
      if (pair && pair->session == session.id()) return true;
      if (pair && !pair->session.empty()) {
        index = read->index;
        continue;
      }
      auto locked =
          writeKey(api_, "PUT", key_,
                   {{"acquire", session.id()}, {"flags", std::to_string(kLockFlagValue)}});
      if (!locked.isOk()) {
        if (session.lost()) continue;  // invalidated meanwhile: a new session, then again
        return wrap("failed to acquire lock", locked.status());
      }
      if (*locked) return true;
      index = 0;
      // Refused on a free key: a lock delay is running. Consul waits before trying again.
      auto again = readKey(api_, key_, 0, *wait, false);
      if (again.isOk() && again->pair && !again->pair->session.empty()) {
        index = again->index;
        continue;
      }
      if (!pause(kLockRetry, c)) return false;
    }
  }

  StatusOr<Look> look(const std::string& session, uint64_t index) override {
    auto read = readKey(api_, key_, index, kLookWait, true);
    if (!read.isOk()) return read.status();
    return Look{read->pair && read->pair->session == session, read->index};
  }

  Status release(const std::string& session) override {
    auto r = writeKey(api_, "PUT", key_,
                      {{"release", session}, {"flags", std::to_string(kLockFlagValue)}});
    if (!r.isOk()) return wrap("failed to release lock", r.status());
    return Status::ok();
  }

  Status destroy() override {
    auto read = readKey(api_, key_, 0, kLookWait, false);
    if (!read.isOk()) return wrap("failed to read lock", read.status());
    if (!read->pair) return Status::ok();
    if (read->pair->flags != kLockFlagValue) {
      return invalidArgument("Existing key does not match lock use");
    }
    if (!read->pair->session.empty()) return conflict("Lock in use");
    auto removed =
        writeKey(api_, "DELETE", key_, {{"cas", std::to_string(read->pair->modify_index)}});
    if (!removed.isOk()) return wrap("failed to remove lock", removed.status());
    if (!*removed) return conflict("Lock in use");
    return Status::ok();
  }

 private:
  ApiClient api_;
  std::string key_;
};

class Semaphore final : public Contender {
 public:
  Semaphore(const ApiClient& api, std::string prefix, int limit)
      : api_(api), prefix_(std::move(prefix)), lock_key_(lockKey(prefix_)), limit_(limit) {
    while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  }

  StatusOr<bool> acquire(SessionKeeper& session, const AcquireControl& c) override {
    if (Status s = makeContenderEntry(session.id()); !s.isOk()) return s;
    uint64_t index = 0;
    for (int attempts = 0;; ++attempts) {
      auto round = startRound(session, c, attempts);
      if (!round.isOk()) return round.status();
      if (!round->wait) return false;
      auto wait = round->wait;
      if (round->renewed) {
        if (Status s = makeContenderEntry(session.id()); !s.isOk()) return s;
      }
      auto read = readPrefix(api_, prefix_, index, *wait, false);
      if (!read.isOk()) return wrap("failed to read prefix", read.status());
      auto lock = decode(read->pairs);
      if (!lock.isOk()) return lock.status();
      pruneDeadHolders(*lock, read->pairs);
      if (lock->holders.contains(session.id())) return true;
      if (static_cast<int>(lock->holders.size()) >= lock->limit) {
        index = read->index;
        continue;
      }
      lock->holders.insert(session.id());
      const KvPair* pair = findPair(read->pairs, lock_key_);
      auto set = writeKey(api_, "PUT", lock_key_,
                          {{"cas", std::to_string(pair ? pair->modify_index : 0)},
                           {"flags", std::to_string(kSemaphoreFlagValue)}},
                          encodeSemaphoreLock(*lock));
      if (!set.isOk()) return wrap("failed to update lock", set.status());
      if (*set) return true;
      index = 0;  // lost a race with another contender: look again
    }
  }

  StatusOr<Look> look(const std::string& session, uint64_t index) override {
    auto read = readPrefix(api_, prefix_, index, kLookWait, true);
    if (!read.isOk()) return read.status();
    auto lock = decode(read->pairs);
    if (!lock.isOk()) return Look{false, read->index};
    pruneDeadHolders(*lock, read->pairs);
    return Look{lock->holders.contains(session), read->index};
  }

  Status release(const std::string& session) override {
    for (;;) {
      auto read = readKey(api_, lock_key_, 0, kLookWait, false);
      if (!read.isOk()) return read.status();
      auto lock = decodeSemaphoreLock(read->pair ? read->pair->value : "", limit_);
      if (!lock.isOk()) return lock.status();
      if (!lock->holders.erase(session)) break;
      auto set = writeKey(api_, "PUT", lock_key_,
                          {{"cas", std::to_string(read->pair ? read->pair->modify_index : 0)},
                           {"flags", std::to_string(kSemaphoreFlagValue)}},
                          encodeSemaphoreLock(*lock));
      if (!set.isOk()) return wrap("failed to update lock", set.status());
      if (*set) break;
    }
    auto removed = writeKey(api_, "DELETE", contenderKey(prefix_, session), {});
    return removed.isOk() ? Status::ok() : removed.status();
  }

  Status destroy() override {
    auto read = readPrefix(api_, prefix_, 0, kLookWait, false);
    if (!read.isOk()) return wrap("failed to read prefix", read.status());
    const KvPair* pair = findPair(read->pairs, lock_key_);
    if (!pair) return Status::ok();
    auto lock = decode(read->pairs);
    if (!lock.isOk()) return lock.status();
    pruneDeadHolders(*lock, read->pairs);
    if (!lock->holders.empty()) return conflict("Semaphore in use");
    auto removed =
        writeKey(api_, "DELETE", lock_key_, {{"cas", std::to_string(pair->modify_index)}});
    if (!removed.isOk()) return wrap("failed to remove semaphore", removed.status());
    if (!*removed) return conflict("Semaphore in use");
    return Status::ok();
  }

 private:
  Status makeContenderEntry(const std::string& session) {
    auto made = writeKey(api_, "PUT", contenderKey(prefix_, session),
                         {{"acquire", session}, {"flags", std::to_string(kSemaphoreFlagValue)}});
    if (!made.isOk()) return wrap("failed to make contender entry", made.status());
    if (!*made) return internalError("failed to make contender entry: <nil>");
    return Status::ok();
  }

  // The lock document, checked against our flags and limit.
  StatusOr<SemaphoreLock> decode(const std::vector<KvPair>& pairs) const {
    const KvPair* pair = findPair(pairs, lock_key_);
    if (pair && pair->flags != kSemaphoreFlagValue) {
      return conflict("Existing key does not match semaphore use");
    }
    auto lock = decodeSemaphoreLock(pair ? pair->value : "", limit_);
    if (!lock.isOk()) return lock.status();
    if (lock->limit != limit_) {
      return conflict("semaphore limit conflict (lock: " + std::to_string(lock->limit) +
                      ", local: " + std::to_string(limit_) + ")");
    }
    return lock;
  }

  ApiClient api_;
  std::string prefix_, lock_key_;
  int limit_;
};

}  // namespace

void Output::info(const std::string& line) {
  if (!verbose_) return;
  std::lock_guard lock(mu_);
  io_.out << line << std::endl;
}

void Output::error(const std::string& line) {
  std::lock_guard lock(mu_);
  io_.err << line << std::endl;
}

SessionKeeper::SessionKeeper(const ApiClient& api, std::string name, std::string behavior)
    : api_(api.withTimeout(kRequestTimeout)),
      name_(std::move(name)),
      behavior_(std::move(behavior)) {}

SessionKeeper::~SessionKeeper() { stopRenewing(); }

Status SessionKeeper::create() {
  stopRenewing();
  web::json::value body = web::json::value::object();
  body["Name"] = web::json::value::string(name_);
  body["TTL"] = web::json::value::string(kSessionTtl);
  if (behavior_ != "release") body["Behavior"] = web::json::value::string(behavior_);
  auto sent = Clock::now();
  auto r = api_.send("PUT", "/v1/session/create", {}, body.serialize());
  if (!r.isOk()) return r.status();
  if (r->status != 200) return unexpectedResponse(*r);
  std::string id;
  try {
    id = web::json::value::parse(r->body).at("ID").as_string();
  } catch (const std::exception& e) {
    return internalError(std::string("decoding the session: ") + e.what());
  }
  {
    std::lock_guard lock(mu_);
    id_ = id;
    renewed_ = sent;
  }
  lost_ = false;
  stop_ = false;
  renewer_ = std::thread([this] { renewLoop(); });
  return Status::ok();
}

std::string SessionKeeper::id() const {
  std::lock_guard lock(mu_);
  return id_;
}

SessionKeeper::Clock::time_point SessionKeeper::lastRenewSent() const {
  std::lock_guard lock(mu_);
  return renewed_;
}

// Every TTL/2, and every second after a failure (as Consul's RenewPeriodic); stops for good
// when the servers say the session is gone.
void SessionKeeper::renewLoop() {
  auto next = Clock::now() + kSessionTtlDuration / 2;
  const std::string id = this->id();
  while (!stop_) {
    if (Clock::now() < next) {
      std::this_thread::sleep_for(milliseconds(50));
      continue;
    }
    auto sent = Clock::now();
    auto r = api_.send("PUT", "/v1/session/renew/" + id, {}, "");
    if (r.isOk() && r->status == 404) {
      lost_ = true;
      return;
    }
    if (r.isOk() && r->status == 200) {
      std::lock_guard lock(mu_);
      renewed_ = sent;
      next = sent + kSessionTtlDuration / 2;
    } else {
      next = Clock::now() + std::chrono::seconds(1);
    }
  }
}

void SessionKeeper::stopRenewing() {
  stop_ = true;
  if (renewer_.joinable()) renewer_.join();
}

Status SessionKeeper::destroy() {
  stopRenewing();
  std::string id = this->id();
  if (id.empty()) return Status::ok();
  auto r = api_.send("PUT", "/v1/session/destroy/" + id, {}, "");
  if (!r.isOk()) return r.status();
  if (r->status != 200) return unexpectedResponse(*r);
  return Status::ok();
}

std::unique_ptr<Contender> makeLock(const ApiClient& api, const std::string& prefix) {
  return std::make_unique<KvLock>(api, prefix);
}

std::unique_ptr<Contender> makeSemaphore(const ApiClient& api, const std::string& prefix,
                                         int limit) {
  return std::make_unique<Semaphore>(api, prefix, limit);
}

}  // namespace cairn::cli::lock

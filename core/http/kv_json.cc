#include "core/http/kv_json.h"

namespace cairn::http {

void writeKvEntry(JsonWriter& w, const store::KvEntry& e) {
  w.beginObject();
  w.key("LockIndex").number(e.lock_index);
  w.key("Key").string(e.key);
  w.key("Flags").number(e.flags);
  w.key("Value").bytes(e.value);
  if (!e.session.empty()) w.key("Session").string(e.session);
  w.key("CreateIndex").number(e.create_index);
  w.key("ModifyIndex").number(e.modify_index);
  w.endObject();
}

std::string kvEntriesJson(const std::vector<store::KvEntry>& entries) {
  JsonWriter w;
  w.beginArray();
  for (const auto& e : entries) writeKvEntry(w, e);
  w.endArray();
  return w.take();
}

std::string txnOutcomeJson(const store::TxnOutcome& outcome) {
  JsonWriter w;
  w.beginObject().key("Results");
  if (outcome.ok) {
    w.beginArray();
    for (const auto& e : outcome.results) {
      w.beginObject().key("KV");
      writeKvEntry(w, e);
      w.endObject();
    }
    w.endArray();
  } else {
    w.null();
  }
  w.key("Errors");
  if (outcome.ok) {
    w.null();
  } else {
    w.beginArray();
    for (const auto& err : outcome.errors) {
      w.beginObject().key("OpIndex").number(static_cast<uint64_t>(err.op_index));
      w.key("What").string(err.what).endObject();
    }
    w.endArray();
  }
  w.endObject();
  return w.take();
}

}  // namespace cairn::http

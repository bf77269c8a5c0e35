#pragma once
// Consul's JSON shapes for KV entries and transaction results.

#include <string>
#include <vector>

#include "core/http/json_writer.h"
#include "core/store/kv_types.h"

namespace cairn::http {

// {"LockIndex":..,"Key":..,"Flags":..,"Value":base64|null,["Session":..,]"CreateIndex":..,"ModifyIndex":..}
void writeKvEntry(JsonWriter& w, const store::KvEntry& e);
std::string kvEntriesJson(const std::vector<store::KvEntry>& entries);
// {"Results":[{"KV":{..}}]|null,"Errors":[{"OpIndex":i,"What":".."}]|null}
std::string txnOutcomeJson(const store::TxnOutcome& outcome);

}  // namespace cairn::http

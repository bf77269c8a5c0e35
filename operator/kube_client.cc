#include "operator/kube_client.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace cairn::op {
namespace {

using web::json::value;
namespace http = web::http;

StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// The entry named `name` of a kubeconfig list (clusters, users, contexts): its inner map.
YAML::Node named(const YAML::Node& list, const std::string& key, const std::string& name) {
  if (!list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item.IsMap() && item["name"] && item["name"].IsScalar() &&
        item["name"].as<std::string>() == name && item[key] && item[key].IsMap()) {
      return item[key];
    }
  }
  return YAML::Node();
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map.IsMap() || !map[key] || !map[key].IsScalar()) return "";
  return map[key].as<std::string>();
}

// Seconds from a Retry-After header (only the delta-seconds form), capped.
std::optional<std::chrono::milliseconds> retryAfter(const http::http_headers& headers) {
  auto it = headers.find("Retry-After");
  if (it == headers.end()) return std::nullopt;
  try {
    int seconds = std::stoi(it->second);
    if (seconds >= 0) return std::chrono::milliseconds(std::min(seconds, 60) * 1000);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

value parseBody(const std::string& text) {
  if (text.empty()) return value::null();
  try {
    return value::parse(text);
  } catch (const std::exception&) {
    return value::null();
  }
}

std::string stringAt(const value& obj, const char* key) {
  return obj.is_object() && obj.has_field(key) && obj.at(key).is_string() ? obj.at(key).as_string()
                                                                          : std::string();
}

bool retryable(int status) { return status == 429 || status >= 500; }

}  // namespace

StatusOr<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return invalidArgument("kubeconfig " + path + ": " + e.what());
  }
  if (!root.IsMap()) return invalidArgument("kubeconfig " + path + ": not a map");
  std::string ctx_name = context.empty() ? scalar(root, "current-context") : context;
  YAML::Node ctx = named(root["contexts"], "context", ctx_name);
  if (!ctx) return invalidArgument("kubeconfig " + path + ": no context \"" + ctx_name + "\"");
  YAML::Node cluster = named(root["clusters"], "cluster", scalar(ctx, "cluster"));
  if (!cluster) return invalidArgument("kubeconfig " + path + ": the context names no cluster");
  KubeConfig c;
  c.server = scalar(cluster, "server");
  if (c.server.empty()) return invalidArgument("kubeconfig " + path + ": cluster has no server");
  c.ca_file = scalar(cluster, "certificate-authority");
  c.insecure = scalar(cluster, "insecure-skip-tls-verify") == "true";
  if (!scalar(cluster, "certificate-authority-data").empty()) {
    return invalidArgument("kubeconfig " + path +
                           ": certificate-authority-data is not supported; use "
                           "certificate-authority (a file)");
  }
  YAML::Node user = named(root["users"], "user", scalar(ctx, "user"));
  if (user) {
    if (user["exec"] || !scalar(user, "client-certificate").empty() ||
        !scalar(user, "client-certificate-data").empty()) {
      return invalidArgument("kubeconfig " + path +
                             ": only token and tokenFile users are supported");
    }
    c.token = scalar(user, "token");
    c.token_file = scalar(user, "tokenFile");
  }
  std::string ns = scalar(ctx, "namespace");
  if (!ns.empty()) c.name_space = ns;
  return c;
}

StatusOr<KubeConfig> inClusterConfig(const EnvLookup& env, const std::string& account_dir) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    return invalidArgument(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are "
        "not set");
  }
  std::string h = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  KubeConfig c;
  c.server = "https://" + h + ":" + *port;
  c.token_file = account_dir + "/token";
  auto token = readFile(c.token_file);
  if (!token.isOk()) return token.status();
  c.token = trim(*token);
  c.ca_file = account_dir + "/ca.crt";
  if (auto ns = readFile(account_dir + "/namespace"); ns.isOk() && !trim(*ns).empty()) {
    c.name_space = trim(*ns);
  }
  return c;
}

Status toStatus(const KubeResponse& r) {
  if (r.status >= 200 && r.status < 300) return Status::ok();
  std::string message = stringAt(r.body, "message");
  if (message.empty()) message = "the API server answered " + std::to_string(r.status);
  switch (r.status) {
    case 404:
      return notFound(message);
    case 409:
      return conflict(message);
    case 400:
    case 422:
      return invalidArgument(message);
    default:
      return unavailable(message);
  }
}

struct KubeClient::Impl {
  KubeConfig config;
  std::unique_ptr<http::client::http_client> client;

  http::http_request request(const std::string& method, const std::string& path) {
    http::http_request req(method);
    req.set_request_uri(web::uri(path));
    req.headers().add("Accept", "application/json");
    std::string token = config.token;
    if (!config.token_file.empty()) {
      if (auto t = readFile(config.token_file); t.isOk()) token = trim(*t);
    }
    if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    return req;
  }
};

KubeClient::KubeClient(KubeConfig config) : KubeClient(std::move(config), Options{}) {}

KubeClient::KubeClient(KubeConfig config, Options options)
    : impl_(std::make_unique<Impl>()), options_(options) {
  http::client::http_client_config cfg;
  cfg.set_timeout(options.timeout);
  cfg.set_validate_certificates(!config.insecure);
  if (!config.ca_file.empty()) {
    std::string ca = config.ca_file;
    cfg.set_ssl_context_callback(
        [ca](boost::asio::ssl::context& ctx) { ctx.load_verify_file(ca); });
  }
  impl_->config = std::move(config);
  impl_->client = std::make_unique<http::client::http_client>(web::uri(impl_->config.server), cfg);
}

KubeClient::~KubeClient() = default;

StatusOr<KubeResponse> KubeClient::call(const std::string& method, const std::string& path,
                                        const value& body, const std::string& content_type) {
  auto backoff = options_.backoff;
  std::string last_error;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    std::optional<std::chrono::milliseconds> wait;
    try {
      http::http_request req = impl_->request(method, path);
      if (!body.is_null()) req.set_body(body.serialize(), content_type);
      http::http_response resp = impl_->client->request(req).get();
      KubeResponse r{resp.status_code(), parseBody(resp.extract_string().get())};
      if (!retryable(r.status)) return r;
      last_error = toStatus(r).message();
      wait = retryAfter(resp.headers());
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (attempt == options_.max_attempts) break;
    std::this_thread::sleep_for(wait.value_or(backoff));
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return unavailable(method + " " + path + ": " + last_error);
}

namespace {

StatusOr<value> bodyOf(StatusOr<KubeResponse> r) {
  if (!r.isOk()) return r.status();
  if (Status s = toStatus(*r); !s.isOk()) return s;
  if (!r->body.is_object()) return internalError("the API server answered without a JSON object");
  return std::move(r->body);
}

}  // namespace

StatusOr<value> KubeClient::get(const std::string& path) { return bodyOf(call("GET", path)); }

StatusOr<value> KubeClient::create(const std::string& collection, const value& obj) {
  return bodyOf(call("POST", collection, obj));
}

Status KubeClient::remove(const std::string& path, const std::string& propagation) {
  value opts = value::object();
  opts["kind"] = value::string("DeleteOptions");
  opts["apiVersion"] = value::string("v1");
  opts["propagationPolicy"] = value::string(propagation);
  auto r = call("DELETE", path, opts);
  if (!r.isOk()) return r.status();
  return toStatus(*r);
}

StatusOr<value> KubeClient::mergePatch(const std::string& path, const value& patch) {
  return bodyOf(call("PATCH", path, patch, "application/merge-patch+json"));
}

StatusOr<value> KubeClient::apply(const std::string& path, const value& obj,
                                  const std::string& field_manager, bool force) {
  std::string query = "?fieldManager=" + field_manager + (force ? "&force=true" : "");
  // JSON is YAML: the apply content type takes it as it is.
  return bodyOf(call("PATCH", path + query, obj, "application/apply-patch+yaml"));
}

StatusOr<value> KubeClient::update(const std::string& path,
                                   const std::function<Status(value&)>& mutate, int attempts) {
  Status last = conflict("no attempt made");
  for (int i = 0; i < attempts; ++i) {
    auto current = get(path);
    if (!current.isOk()) return current.status();
    value obj = std::move(*current);
    CAIRN_RETURN_IF_ERROR(mutate(obj));
    auto written = bodyOf(call("PUT", path, obj));
    if (written.isOk() || written.status().code() != StatusCode::kConflict) return written;
    last = written.status();  // someone wrote in between: read again, change again
  }
  return last;
}

Status KubeClient::listWatch(const std::string& collection,
                             const std::function<bool(const std::vector<value>&)>& on_list,
                             const std::function<bool(const WatchEvent&)>& on_event,
                             const std::atomic<bool>& stop) {
  std::string sep = collection.find('?') == std::string::npos ? "?" : "&";
  auto backoff = options_.backoff;
  while (!stop) {
    // LIST: the state as of the list's resourceVersion.
    auto listed = get(collection);
    if (!listed.isOk()) return listed.status();
    ++lists_;
    std::string rv = stringAt(listed->has_field("metadata") ? listed->at("metadata") : value(),
                              "resourceVersion");
    std::vector<value> items;
    if (listed->has_field("items") && listed->at("items").is_array()) {
      for (const value& item : listed->at("items").as_array()) items.push_back(item);
    }
    if (!on_list(items)) return Status::ok();
    // WATCH from there until the history is gone (410: list again) or we stop.
    bool relist = false;
    while (!stop && !relist) {
      std::string path = collection + sep +
                         "watch=1&allowWatchBookmarks=true&resourceVersion=" + rv +
                         "&timeoutSeconds=" + std::to_string(options_.watch_timeout_seconds);
      try {
        http::http_response resp = impl_->client->request(impl_->request("GET", path)).get();
        if (resp.status_code() == 410) {
          relist = true;
          continue;
        }
        if (resp.status_code() != 200) {
          std::this_thread::sleep_for(retryAfter(resp.headers()).value_or(backoff));
          backoff = std::min(backoff * 2, options_.max_backoff);
          continue;
        }
        backoff = options_.backoff;
        auto body = resp.body();
        while (!stop) {
          concurrency::streams::container_buffer<std::string> line;
          size_t n = body.read_line(line).get();
          if (n == 0 && body.is_eof()) break;  // the server ended the watch: watch again
          value event = parseBody(line.collection());
          std::string type = stringAt(event, "type");
          const value& obj =
              event.is_object() && event.has_field("object") ? event.at("object") : value::null();
          if (type == "ERROR") {
            relist = obj.is_object() && obj.has_field("code") && obj.at("code").is_number() &&
                     obj.at("code").as_integer() == 410;
            break;
          }
          if (!obj.is_object()) continue;  // a malformed line: skip it
          const value& meta = obj.has_field("metadata") ? obj.at("metadata") : value::null();
          if (std::string next = stringAt(meta, "resourceVersion"); !next.empty()) rv = next;
          if (type == "BOOKMARK") continue;
          if (type == "ADDED" || type == "MODIFIED" || type == "DELETED") {
            if (!on_event(WatchEvent{type, obj})) return Status::ok();
          }
        }
      } catch (const std::exception&) {
        // A dropped connection: back off and watch again from the last resourceVersion.
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
    }
  }
  return Status::ok();
}

}  // namespace cairn::op

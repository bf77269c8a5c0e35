// The template engine against a fake data source: syntax, functions, Consul data shapes,
// incompleteness and errors with positions.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/template/functions.h"
#include "core/template/render.h"

namespace cairn::tmpl {
namespace {

// Data keyed by Dependency::id(); anything not in the map is "not fetched yet".
struct FakeData {
  std::map<std::string, Value> by_id;
  std::map<std::string, std::string> env;

  RenderDeps deps() const {
    RenderDeps d;
    d.data = [this](const Dependency& dep) -> std::optional<Value> {
      auto it = by_id.find(dep.id());
      if (it == by_id.end()) return std::nullopt;
      return it->second;
    };
    d.env = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return d;
  }
};

Value healthBody(std::string_view json, const char* spec = "web") {
  auto dep = serviceDependency(spec);
  EXPECT_TRUE(dep.isOk());
  auto v = decodeResponse(*dep, 200, json);
  EXPECT_TRUE(v.isOk()) << v.status().message();
  return v.isOk() ? *v : Value();
}

Rendered renderOk(std::string_view text, const FakeData& data = {}) {
  auto t = Template::parse(text, "in.tpl");
  EXPECT_TRUE(t.isOk()) << t.status().message();
  if (!t.isOk()) return {};
  auto r = t->render(data.deps());
  EXPECT_TRUE(r.isOk()) << r.status().message();
  return r.isOk() ? *r : Rendered{};
}

std::string render(std::string_view text, const FakeData& data = {}) {
  return renderOk(text, data).text;
}

std::string parseError(std::string_view text) {
  auto t = Template::parse(text, "in.tpl");
  EXPECT_FALSE(t.isOk()) << text;
  return t.isOk() ? "" : t.status().message();
}

std::string renderError(std::string_view text, const FakeData& data = {}) {
  auto t = Template::parse(text, "in.tpl");
  EXPECT_TRUE(t.isOk()) << t.status().message();
  if (!t.isOk()) return "";
  auto r = t->render(data.deps());
  EXPECT_FALSE(r.isOk()) << text;
  return r.isOk() ? "" : r.status().message();
}

constexpr char kTwoWebs[] = R"([
  {"Node": {"ID": "n1", "Node": "node1", "Address": "10.0.0.1", "Datacenter": "dc1",
            "TaggedAddresses": {}, "Meta": {"rack": "a"}},
   "Service": {"ID": "web-2", "Service": "web", "Tags": ["v2", "prod", "prod"], "Address": "",
               "Meta": {"version": "2"}, "Port": 8081, "Weights": {"Passing": 1, "Warning": 1}},
   "Checks": [{"CheckID": "serfHealth", "Status": "passing"}]},
  {"Node": {"ID": "n0", "Node": "node0", "Address": "10.0.0.2", "Datacenter": "dc1"},
   "Service": {"ID": "web-1", "Service": "web", "Tags": [], "Address": "192.168.1.5",
               "Meta": null, "Port": 8080},
   "Checks": [{"CheckID": "c", "Status": "passing"}]}
])";

TEST(TemplateTest, TextAndTrimMarkers) {
  EXPECT_EQ(render("plain text\n"), "plain text\n");
  EXPECT_EQ(render("a  {{- \"b\" -}}  \n c"), "abc");
  EXPECT_EQ(render("a {{/* a comment */}} b"), "a  b");
  EXPECT_EQ(render("a \n{{- /* trimmed */ -}}\n b"), "ab");
  EXPECT_EQ(render("{{- 3 }}"), "3");
  // A '-' without a space is a number's sign, not a trim marker.
  EXPECT_EQ(render("x {{-3}}"), "x -3");
}

TEST(TemplateTest, LiteralsAndPrinting) {
  EXPECT_EQ(render(R"({{"q\"s"}} {{`raw\n`}} {{42}} {{1.5}} {{true}} {{0x1F}})"),
            "q\"s raw\\n 42 1.5 true 31");
  EXPECT_EQ(render("{{nil}}"), "<no value>");
  EXPECT_EQ(render(R"({{ split "," "a,b" }})"), "[a b]");
  EXPECT_EQ(render(R"({{ parseJSON "{\"b\": 1, \"a\": [true]}" }})"), "map[a:[true] b:1]");
  EXPECT_EQ(render(R"({{ parseJSON "1000000" }} {{ parseJSON "0.5" }})"), "1e+06 0.5");
}

TEST(TemplateTest, VariablesAndScopes) {
  EXPECT_EQ(render(R"({{ $x := "a" }}{{ $x }}{{ $x = "b" }}{{ $x }})"), "ab");
  EXPECT_EQ(render(R"({{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }})"), "21");
  EXPECT_EQ(render(R"({{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }})"), "2");
  EXPECT_EQ(renderError("{{ $y = 1 }}"), "in.tpl:1:4: undefined variable: $y");
}

TEST(TemplateTest, IfElseIfElse) {
  const char* t = R"({{ if eq .  1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }})";
  EXPECT_EQ(
      render(
          R"({{ with 1 }}{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}{{ end }})"),
      "one");
  EXPECT_EQ(
      render(
          R"({{ with 2 }}{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}{{ end }})"),
      "two");
  EXPECT_EQ(
      render(
          R"({{ with 3 }}{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}{{ end }})"),
      "many");
  (void)t;
  EXPECT_EQ(render(R"({{ if "" }}y{{ else }}n{{ end }}{{ if (split "," "a") }}y{{ end }})"), "ny");
}

TEST(TemplateTest, WithSetsDotAndHasElse) {
  EXPECT_EQ(render(R"({{ with parseJSON "{\"a\":{\"b\":\"c\"}}" }}{{ .a.b }}{{ end }})"), "c");
  EXPECT_EQ(render(R"({{ with "" }}x{{ else }}empty{{ end }})"), "empty");
  EXPECT_EQ(render(R"({{ with $x := "v" }}{{ $x }}{{ . }}{{ end }})"), "vv");
  EXPECT_EQ(render(R"({{ with "" }}x{{ else with "w" }}{{ . }}{{ end }})"), "w");
}

TEST(TemplateTest, RangeForms) {
  EXPECT_EQ(render(R"({{ range split "," "a,b,c" }}[{{ . }}]{{ end }})"), "[a][b][c]");
  EXPECT_EQ(render(R"({{ range $i, $e := split "," "a,b" }}{{ $i }}={{ $e }};{{ end }})"),
            "0=a;1=b;");
  EXPECT_EQ(render(R"({{ range $e := split "," "a,b" }}{{ $e }}{{ end }})"), "ab");
  EXPECT_EQ(
      render(R"({{ range $k, $v := parseJSON "{\"z\":1,\"a\":2}" }}{{ $k }}{{ $v }} {{ end }})"),
      "a2 z1 ");
  EXPECT_EQ(render(R"({{ range split "," "" }}x{{ else }}none{{ end }})"), "none");
  EXPECT_EQ(
      render(
          R"({{ range split "," "a,b,c,d" }}{{ if eq . "b" }}{{ continue }}{{ end }}{{ if eq . "d" }}{{ break }}{{ end }}{{ . }}{{ end }})"),
      "ac");
  EXPECT_EQ(render("{{ range 3 }}{{ . }}{{ end }}"), "012");
  EXPECT_EQ(
      render(R"({{ $last := "" }}{{ range split "," "a,b" }}{{ $last = . }}{{ end }}{{ $last }})"),
      "b");
}

TEST(TemplateTest, Pipelines) {
  EXPECT_EQ(render(R"({{ "a,b" | split "," | join ";" }})"), "a;b");
  EXPECT_EQ(render(R"({{ "Hello" | toUpper | printf "%s!" }})"), "HELLO!");
  EXPECT_EQ(render(R"({{ (split "," "x,y") | len }})"), "2");
  EXPECT_EQ(render(R"({{ (index (split "," "x,y") 1) }})"), "y");
}

TEST(TemplateTest, StringFunctions) {
  EXPECT_EQ(render(R"({{ toLower "AbC" }} {{ toUpper "aBc" }} {{ toTitle "hello world" }})"),
            "abc ABC Hello World");
  EXPECT_EQ(render(R"({{ replaceAll "." "-" "a.b.c" }} {{ trimSpace "  x \n" }})"), "a-b-c x");
  EXPECT_EQ(
      render(
          R"({{ contains "b" (split "," "a,b") }} {{ "abc" | contains "bc" }} {{ contains "z" "abc" }})"),
      "true true false");
  EXPECT_EQ(render(R"({{ split "" "héj" | len }})"), "3");
  EXPECT_EQ(render(R"({{ join ", " (split "," "a,b") }})"), "a, b");
}

TEST(TemplateTest, Printf) {
  EXPECT_EQ(render(R"({{ printf "%s:%d" "h" 80 }})"), "h:80");
  EXPECT_EQ(
      render(
          R"({{ printf "%5s|%-5s|%05d|%x|%.2f|%q|%v|%t|%%" "a" "b" 42 255 3.14159 "q" 7 true }})"),
      "    a|b    |00042|ff|3.14|\"q\"|7|true|%");
  EXPECT_EQ(render(R"({{ printf "%d" "x" }})"), "%!d(string=x)");
  EXPECT_EQ(render(R"({{ printf "%d %d" 1 }})"), "1 %!d(MISSING)");
  EXPECT_EQ(render(R"({{ printf "%d" 1 2 }})"), "1%!(EXTRA int=2)");
  EXPECT_EQ(render(R"({{ printf "%d" (parseJSON "8080") }})"), "%!d(float64=8080)");
}

TEST(TemplateTest, ComparisonsAndLogic) {
  EXPECT_EQ(
      render("{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ ne \"a\" \"b\" }} {{ lt 1 2 }} {{ gt \"b\" \"a\" }} "
             "{{ le 2 2 }} {{ ge 1 2 }}"),
      "true true true true true true false");
  EXPECT_EQ(render(R"({{ and 1 "" 2 }}|{{ or "" 0 "x" }}|{{ not "" }}|{{ and 1 2 }})"),
            "|x|true|2");
  EXPECT_EQ(render(R"({{ eq (parseJSON "2") 2 }})"), "true");
  EXPECT_EQ(renderError(R"({{ eq 1 "1" }})"),
            "in.tpl:1:4: error calling eq: incompatible types for comparison");
  // `and` stops before the second argument: a missing key behind keyExists does not block.
  FakeData data;
  data.by_id["kv.block(k)"] = Value();
  Rendered r = renderOk(R"({{ if and (keyExists "k") (key "k") }}x{{ end }}.)", data);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.text, ".");
}

TEST(TemplateTest, JsonFunctions) {
  EXPECT_EQ(render(R"({{ parseJSON "{\"b\":[1,2.5,\"<x>\"],\"a\":null}" | toJSON }})"),
            R"({"a":null,"b":[1,2.5,"\u003cx\u003e"]})");
  EXPECT_EQ(render(R"({{ parseJSON "{\"a\":[1]}" | toJSONPretty }})"),
            "{\n  \"a\": [\n    1\n  ]\n}");
  EXPECT_EQ(render(R"({{ (parseJSON "{\"port\": 8080}").port }})"), "8080");
  EXPECT_EQ(render(R"({{ parseJSON "" | len }})"), "0");
  EXPECT_NE(renderError(R"({{ parseJSON "{bad" }})").find("error calling parseJSON"),
            std::string::npos);
}

TEST(TemplateTest, Env) {
  FakeData data;
  data.env["HOME_DIR"] = "/home/x";
  EXPECT_EQ(render(R"({{ env "HOME_DIR" }}|{{ env "UNSET" }})", data), "/home/x|");
}

TEST(TemplateTest, KeyFunctions) {
  FakeData data;
  data.by_id["kv.block(app/port)"] = Value::string("8080");
  data.by_id["kv.block(app/missing)"] = Value();
  EXPECT_EQ(render(R"({{ key "app/port" }} {{ key "/app/port" }})", data), "8080 8080");
  EXPECT_EQ(render(R"({{ keyOrDefault "app/missing" "d" }} {{ keyExists "app/missing" }})", data),
            "d false");
  // A key that does not exist makes `key` wait: the render is incomplete.
  Rendered r = renderOk(R"({{ key "app/missing" }})", data);
  EXPECT_FALSE(r.complete);
  // Not fetched yet: incomplete, and the dependency is listed once.
  r = renderOk(R"({{ key "new" }}{{ keyOrDefault "new" "x" }})", data);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.used.size(), 1u);
  EXPECT_EQ(r.used[0].id(), "kv.block(new)");
}

TEST(TemplateTest, LsAndTree) {
  auto dep = keyListDependency("app");
  ASSERT_TRUE(dep.isOk());
  // "YQ==" is "a", "Yg==" is "b".
  auto list = decodeResponse(*dep, 200, R"([
    {"Key": "app/", "Value": null, "CreateIndex": 1, "ModifyIndex": 1},
    {"Key": "app/x", "Value": "YQ==", "CreateIndex": 2, "ModifyIndex": 3, "Flags": 4},
    {"Key": "app/sub/", "Value": null},
    {"Key": "app/sub/y", "Value": "Yg=="}])");
  ASSERT_TRUE(list.isOk()) << list.status().message();
  FakeData data;
  data.by_id["kv.list(app)"] = *list;
  EXPECT_EQ(render(R"({{ range ls "app" }}{{ .Key }}={{ .Value }};{{ end }})", data), "x=a;");
  EXPECT_EQ(render(R"({{ range tree "app" }}{{ .Key }}={{ .Value }}({{ .Path }});{{ end }})", data),
            "x=a(app/x);sub/y=b(app/sub/y);");
  EXPECT_EQ(render(R"({{ range ls "app" }}{{ .ModifyIndex }} {{ .Flags }}{{ end }})", data), "3 4");
  // A missing prefix is an empty list, not a wait.
  EXPECT_EQ(decodeResponse(*dep, 404, "")->asList().size(), 0u);
}

TEST(TemplateTest, NginxUpstreamExample) {
  FakeData data;
  data.by_id["health.service(web|passing)"] = healthBody(kTwoWebs);
  const char* tpl =
      "upstream web {\n"
      "  {{range service \"web\"}}server {{.Address}}:{{.Port}};\n"
      "  {{end}}\n"
      "}\n";
  // Sorted by node: node0's instance (its own address) first, then node1's (the node address).
  EXPECT_EQ(render(tpl, data),
            "upstream web {\n  server 192.168.1.5:8080;\n  server 10.0.0.1:8081;\n  \n}\n");
}

TEST(TemplateTest, ServiceEntryFields) {
  FakeData data;
  data.by_id["health.service(web|passing)"] = healthBody(kTwoWebs);
  EXPECT_EQ(
      render(
          R"({{ range service "web" }}{{ .ID }} {{ .Name }} {{ .Node }} {{ .NodeAddress }} {{ .Tags }} {{ .ServiceMeta.version }} {{ .Status }} {{ .NodeMeta.rack }}|{{ end }})",
          data),
      "web-1 web node0 10.0.0.2 [] <no value> passing <no value>|"
      "web-2 web node1 10.0.0.1 [prod v2] 2 passing a|");
  EXPECT_EQ(
      render(
          R"({{ range service "web" }}{{ if .Tags | contains "prod" }}{{ .ID }}{{ end }}{{ end }})",
          data),
      "web-2");
  EXPECT_EQ(render(R"({{ with index (service "web") 0 }}{{ .Weights.Passing }}{{ end }})", data),
            "0");
  std::string err = renderError(R"({{ range service "web" }}{{ .Bogus }}{{ end }})", data);
  EXPECT_NE(err.find("in.tpl:1:29: can't evaluate field Bogus"), std::string::npos) << err;
}

TEST(TemplateTest, ServiceHealthFilters) {
  const char* body = R"([
    {"Node": {"Node": "a"}, "Service": {"ID": "s1", "Service": "db"},
     "Checks": [{"CheckID": "c", "Status": "warning"}]},
    {"Node": {"Node": "b"}, "Service": {"ID": "s2", "Service": "db"},
     "Checks": [{"CheckID": "c", "Status": "critical"}]},
    {"Node": {"Node": "c"}, "Service": {"ID": "s3", "Service": "db"},
     "Checks": [{"CheckID": "_service_maintenance:s3", "Status": "critical"}]},
    {"Node": {"Node": "d"}, "Service": {"ID": "s4", "Service": "db"}, "Checks": []}])";
  FakeData data;
  data.by_id["health.service(db|any)"] = healthBody(body, "db|any");
  data.by_id["health.service(db|warning,critical)"] = healthBody(body, "db|warning,critical");
  data.by_id["health.service(db|passing)"] = healthBody(body, "db");
  EXPECT_EQ(render(R"({{ range service "db|any" }}{{ .ID }}={{ .Status }} {{ end }})", data),
            "s1=warning s2=critical s3=maintenance s4=passing ");
  EXPECT_EQ(render(R"({{ range service "db" "warning,critical" }}{{ .ID }} {{ end }})", data),
            "s1 s2 ");
  EXPECT_EQ(render(R"({{ range service "db" }}{{ .ID }} {{ end }})", data), "s4 ");
}

TEST(TemplateTest, ServiceSpecs) {
  auto d = serviceDependency("prod.web@dc2|passing");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->tag, "prod");
  EXPECT_EQ(d->name, "web");
  EXPECT_EQ(d->datacenter, "dc2");
  EXPECT_TRUE(d->states.empty());
  DependencyRequest req = requestFor(*d, "");
  EXPECT_EQ(req.path, "/v1/health/service/web");
  std::vector<std::pair<std::string, std::string>> want = {
      {"tag", "prod"}, {"passing", "1"}, {"dc", "dc2"}};
  EXPECT_EQ(req.query, want);
  d = serviceDependency("v1.2.web");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->tag, "v1.2");
  auto any = serviceDependency("web|any");
  ASSERT_TRUE(any.isOk());
  EXPECT_TRUE(requestFor(*any, "").query.empty());
  EXPECT_FALSE(serviceDependency("web|sleepy").isOk());
  EXPECT_FALSE(serviceDependency("we b").isOk());
  EXPECT_FALSE(serviceDependency("web|any,passing").isOk());
  std::string err = renderError(R"({{ service "web|nope" }})");
  EXPECT_NE(err.find("in.tpl:1:4: error calling service: invalid service"), std::string::npos)
      << err;
}

TEST(TemplateTest, ServicesNodeAndNodes) {
  FakeData data;
  auto services =
      decodeResponse(*servicesDependency(""), 200, R"({"web": ["b", "a"], "consul": []})");
  ASSERT_TRUE(services.isOk());
  data.by_id["catalog.services()"] = *services;
  EXPECT_EQ(render(R"({{ range services }}{{ .Name }}{{ .Tags }} {{ end }})", data),
            "consul[] web[a b] ");
  auto nodes = decodeResponse(*nodesDependency(""), 200,
                              R"([{"Node": "b", "Address": "10.0.0.2", "Meta": {"k": "v"}},
                                  {"Node": "a", "Address": "10.0.0.1"}])");
  ASSERT_TRUE(nodes.isOk());
  data.by_id["catalog.nodes()"] = *nodes;
  EXPECT_EQ(render(R"({{ range nodes }}{{ .Node }}@{{ .Address }} {{ end }})", data),
            "a@10.0.0.1 b@10.0.0.2 ");
  auto node = decodeResponse(*nodeDependency("a"), 200,
                             R"({"Node": {"Node": "a", "Address": "10.0.0.1"},
                                 "Services": {"w2": {"ID": "w2", "Service": "web", "Port": 2},
                                              "d": {"ID": "d", "Service": "db", "Port": 1}}})");
  ASSERT_TRUE(node.isOk());
  data.by_id["catalog.node(a)"] = *node;
  data.by_id["catalog.node()"] = *node;
  EXPECT_EQ(
      render(
          R"({{ with node "a" }}{{ .Node.Address }}{{ range .Services }} {{ .Service }}:{{ .Port }}{{ end }}{{ end }})",
          data),
      "10.0.0.1 db:1 web:2");
  EXPECT_EQ(render(R"({{ with node }}{{ .Node.Node }}{{ end }})", data), "a");
  EXPECT_EQ(requestFor(*nodeDependency(""), "agent-1").path, "/v1/catalog/node/agent-1");
  // A node that does not exist is nil.
  EXPECT_TRUE(decodeResponse(*nodeDependency("zz"), 404, "")->isNull());
}

TEST(TemplateTest, IndexAndLen) {
  EXPECT_EQ(render(R"({{ index (parseJSON "{\"a\":[5,6]}") "a" 1 }})"), "6");
  EXPECT_EQ(render(R"({{ len "abc" }} {{ len (parseJSON "{\"a\":1}") }})"), "3 1");
  EXPECT_EQ(renderError(R"({{ index (split "," "a") 3 }})"),
            "in.tpl:1:4: error calling index: index out of range: 3");
  EXPECT_EQ(renderError("{{ len 3 }}"), "in.tpl:1:4: error calling len: len of type int");
}

TEST(TemplateTest, ParseErrorsNameLineAndColumn) {
  EXPECT_EQ(parseError("ok\n  {{ if true }}x"),
            "in.tpl:2:6: unexpected EOF: {{if}} has no {{end}}");
  EXPECT_EQ(parseError("{{ end }}"), "in.tpl:1:4: unexpected {{end}}");
  EXPECT_EQ(parseError("a\nb {{ bogus 1 }}"), "in.tpl:2:6: function \"bogus\" not defined");
  EXPECT_EQ(parseError("{{ \"x }}"), "in.tpl:1:4: unterminated quoted string");
  EXPECT_EQ(parseError("{{ 1 "), "in.tpl:1:1: unclosed action");
  EXPECT_EQ(parseError("{{ }}"), "in.tpl:1:4: missing value for command");
  EXPECT_EQ(parseError("{{ if }}x{{ end }}"), "in.tpl:1:7: missing value for if");
  EXPECT_EQ(parseError("{{ break }}"), "in.tpl:1:4: {{break}} outside {{range}}");
  EXPECT_EQ(parseError("{{ template \"x\" }}"),
            "in.tpl:1:4: {{template}} is not supported (see docs/template.md)");
  EXPECT_EQ(parseError("{{ (1 }}"), "in.tpl:1:7: unclosed left paren");
  EXPECT_EQ(parseError("{{/* open"), "in.tpl:1:3: unclosed comment");
  EXPECT_EQ(parseError("{{ range $i, $e, $x := . }}{{ end }}"),
            "in.tpl:1:12: too many declarations");
  EXPECT_EQ(parseError("{{ if 1 }}{{ else }}{{ else }}{{ end }}"),
            "in.tpl:1:24: expected {{end}}; found {{else}}");
  EXPECT_EQ(parseError("{{ 1x }}"), "in.tpl:1:4: bad number syntax: \"1x\"");
}

TEST(TemplateTest, ExecutionErrors) {
  EXPECT_EQ(renderError(R"({{ "a" 1 }})"), "in.tpl:1:4: can't give argument to non-function \"a\"");
  EXPECT_EQ(renderError(R"({{ key 1 }})"),
            "in.tpl:1:4: error calling key: key: expected string; got int");
  EXPECT_EQ(renderError(R"({{ key "a" "b" }})"),
            "in.tpl:1:4: error calling key: wrong number of args: want 1 got 2");
  EXPECT_EQ(renderError(R"({{ range "abc" }}{{ end }})"),
            "in.tpl:1:4: range can't iterate over abc");
  EXPECT_EQ(renderError("{{ .X.Y }}"), "in.tpl:1:4: nil pointer evaluating interface {}.X");
}

TEST(TemplateTest, LimitsStopRunawayRenders) {
  auto t = Template::parse("{{ range 1000000 }}{{ range 1000000 }}x{{ end }}{{ end }}", "big");
  ASSERT_TRUE(t.isOk());
  RenderLimits limits;
  limits.max_steps = 10'000;
  auto r = t->render({}, limits);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("render stopped after 10000 steps"), std::string::npos);
  limits.max_steps = 100'000'000;
  limits.max_output = 1000;
  r = t->render({}, limits);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("output larger than 1000 bytes"), std::string::npos);
}

TEST(TemplateTest, DeepNestingIsRefused) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "{{ if 1 }}";
  EXPECT_NE(parseError(deep).find("nesting too deep"), std::string::npos);
  std::string parens = "{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}";
  EXPECT_NE(parseError(parens).find("nesting too deep"), std::string::npos);
}

TEST(TemplateTest, JsonParserIsStrict) {
  EXPECT_FALSE(parseJson("{\"a\":1,}").isOk());
  EXPECT_FALSE(parseJson("[01]").isOk());
  EXPECT_FALSE(parseJson("\"a\nb\"").isOk());
  EXPECT_EQ(parseJson(R"("\u00e9\ud83d\ude00\/")")->asString(), "é😀/");
  EXPECT_EQ(parseJson(R"("\"\\\b\f\n\r\t")")->asString(), "\"\\\b\f\n\r\t");
  EXPECT_EQ(parseJson(R"("\ud800x")")->asString(), "\xEF\xBF\xBDx");  // a lone surrogate
  EXPECT_FALSE(parseJson(R"("\x41")").isOk());
  EXPECT_FALSE(parseJson(R"("\u12")").isOk());
  std::string deep(200, '[');
  EXPECT_FALSE(parseJson(deep + std::string(200, ']')).isOk());
}

TEST(TemplateTest, GoFloatFormat) {
  EXPECT_EQ(formatGoFloat(5), "5");
  EXPECT_EQ(formatGoFloat(0.1), "0.1");
  EXPECT_EQ(formatGoFloat(123456), "123456");
  EXPECT_EQ(formatGoFloat(1234567), "1.234567e+06");
  EXPECT_EQ(formatGoFloat(0.00001), "1e-05");
  EXPECT_EQ(*toJson(Value::floating(1e-7)), "1e-7");
  EXPECT_EQ(*toJson(Value::floating(1e21)), "1e+21");
  EXPECT_EQ(*toJson(Value::floating(1234567)), "1234567");
}

}  // namespace
}  // namespace cairn::tmpl

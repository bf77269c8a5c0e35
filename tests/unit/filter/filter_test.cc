#include "core/filter/filter.h"

#include <gtest/gtest.h>

#include <string>

namespace cairn::filter {
namespace {

web::json::value json(const char* text) { return web::json::value::parse(text); }

// GET /v1/catalog/service/web (docs/consul-api.md §4).
const web::json::value& serviceNode() {
  static const web::json::value v = json(R"({
    "ID": "40e4a748-2192-161a-0510-9bf59fe950b5", "Node": "node-1", "Address": "10.0.0.1",
    "Datacenter": "dc1", "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.18.0.1"},
    "NodeMeta": {"rack": "r1", "a.b": "dotted"}, "ServiceKind": "", "ServiceID": "web-1",
    "ServiceName": "web", "ServiceTags": ["primary", "v1"], "ServiceAddress": "",
    "ServiceTaggedAddresses": {}, "ServiceWeights": {"Passing": 1, "Warning": 1},
    "ServiceMeta": {"version": "2", "env": "prod"}, "ServicePort": 8080,
    "ServiceEnableTagOverride": false, "ServiceProxy": {"MeshGateway": {}, "Expose": {}},
    "ServiceConnect": {}, "CreateIndex": 10, "ModifyIndex": 18446744073709551615})");
  return v;
}

// GET /v1/health/service/web (docs/consul-api.md §5).
const web::json::value& serviceEntry() {
  static const web::json::value v = json(R"({
    "Node": {"ID": "40e4a748", "Node": "node-1", "Address": "10.0.0.1", "Datacenter": "dc1",
             "TaggedAddresses": {"lan": "10.0.0.1"}, "Meta": {"rack": "r1"},
             "CreateIndex": 5, "ModifyIndex": 7},
    "Service": {"ID": "web-1", "Service": "web", "Tags": ["primary", "v1"], "Address": "",
                "Meta": {"env": "prod"}, "Port": 8080, "Weights": {"Passing": 1, "Warning": 1},
                "EnableTagOverride": true, "Proxy": {}, "Connect": {}, "CreateIndex": 10,
                "ModifyIndex": 12},
    "Checks": [
      {"Node": "node-1", "CheckID": "serfHealth", "Name": "Serf Health Status",
       "Status": "passing", "ServiceID": "", "ServiceName": "", "ServiceTags": [], "Type": ""},
      {"Node": "node-1", "CheckID": "service:web-1", "Name": "Service 'web' check",
       "Status": "critical", "ServiceID": "web-1", "ServiceName": "web",
       "ServiceTags": ["primary", "v1"], "Type": "http"}]})");
  return v;
}

// GET /v1/health/state/critical (docs/consul-api.md §5).
const web::json::value& healthCheck() {
  static const web::json::value v = json(R"({
    "Node": "node-1", "CheckID": "service:web-1", "Name": "Service 'web' check",
    "Status": "critical", "Notes": "", "Output": "HTTP GET http://10.0.0.1:8080/health: 503",
    "ServiceID": "web-1", "ServiceName": "web", "ServiceTags": ["primary"], "Type": "http",
    "Interval": "10s", "Timeout": "1s", "ExposedPort": 0,
    "Definition": {"HTTP": "http://10.0.0.1:8080/health", "Header": {"X-Probe": ["1"]},
                   "TLSSkipVerify": false, "Interval": "10s"},
    "CreateIndex": 3, "ModifyIndex": 4})");
  return v;
}

// Parses `expression` (failing the test on error) and matches it against `element`.
bool eval(const std::string& expression, const web::json::value& element) {
  auto filter = Filter::parse(expression);
  EXPECT_TRUE(filter.isOk()) << expression << ": " << filter.status().message();
  return filter.isOk() && filter->matches(element);
}

// The parse error message for `expression` (failing the test when it parses).
std::string parseError(const std::string& expression) {
  auto filter = Filter::parse(expression);
  EXPECT_FALSE(filter.isOk()) << expression;
  if (filter.isOk()) return "";
  EXPECT_EQ(filter.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(filter.status().message().empty());
  return filter.status().message();
}

TEST(FilterEqual, StringFieldsCompareExactly) {
  EXPECT_TRUE(eval(R"(ServiceName == "web")", serviceNode()));
  EXPECT_TRUE(eval("ServiceName == web", serviceNode()));
  EXPECT_FALSE(eval(R"(ServiceName == "Web")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceName != "db")", serviceNode()));
  EXPECT_FALSE(eval(R"(ServiceName != "web")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceAddress == "")", serviceNode()));
  EXPECT_TRUE(eval("ServiceMeta.version == 2", serviceNode()));  // number literal, string field
}

TEST(FilterEqual, BareWordValueIsItsDottedText) {
  EXPECT_FALSE(eval("ServiceName == web.v1", serviceNode()));
  EXPECT_TRUE(eval("ServiceID != web.v1", serviceNode()));
  EXPECT_TRUE(eval("Datacenter == dc1", serviceNode()));
}

TEST(FilterEqual, NumbersCoerceToTheFieldType) {
  EXPECT_TRUE(eval("ServicePort == 8080", serviceNode()));
  EXPECT_TRUE(eval(R"(ServicePort == "8080")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServicePort == "0x1F90")", serviceNode()));  // Go ParseInt base 0
  EXPECT_TRUE(eval(R"(ServicePort == "8_080")", serviceNode()));
  EXPECT_FALSE(eval("ServicePort == 80", serviceNode()));
  EXPECT_TRUE(eval("ServicePort != 80", serviceNode()));
  EXPECT_FALSE(eval("ServicePort == 8080.5", serviceNode()));
  EXPECT_FALSE(eval(R"(ServicePort == "abc")", serviceNode()));  // not a number: never equal
  EXPECT_TRUE(eval(R"(ServicePort != "abc")", serviceNode()));
  EXPECT_TRUE(eval("ModifyIndex == 18446744073709551615", serviceNode()));
  EXPECT_FALSE(eval("ModifyIndex == -1", serviceNode()));
  EXPECT_TRUE(eval("ServiceWeights.Passing == 1", serviceNode()));
  EXPECT_TRUE(eval("X == -1.5", json(R"({"X": -1.5})")));
  EXPECT_TRUE(eval("X == -3", json(R"({"X": -3})")));
  EXPECT_TRUE(eval("X == 0", json(R"({"X": 0})")));
  EXPECT_TRUE(eval("X == -0", json(R"({"X": 0})")));
}

TEST(FilterEqual, BoolsCoerceLikeParseBool) {
  EXPECT_TRUE(eval("ServiceEnableTagOverride == false", serviceNode()));
  EXPECT_TRUE(eval("ServiceEnableTagOverride == F", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceEnableTagOverride == "0")", serviceNode()));
  EXPECT_FALSE(eval("ServiceEnableTagOverride == true", serviceNode()));
  EXPECT_FALSE(eval("ServiceEnableTagOverride == yes", serviceNode()));
  EXPECT_TRUE(eval("Service.EnableTagOverride == True", serviceEntry()));
}

TEST(FilterEqual, ObjectsAndArraysAreNotComparable) {
  EXPECT_FALSE(eval(R"(ServiceMeta == "x")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceMeta != "x")", serviceNode()));
  EXPECT_FALSE(eval(R"(ServiceTags == "primary")", serviceNode()));
}

TEST(FilterIn, ArraysByElement) {
  EXPECT_TRUE(eval(R"("primary" in ServiceTags)", serviceNode()));
  EXPECT_TRUE(eval("v1 in ServiceTags", serviceNode()));
  EXPECT_FALSE(eval(R"("v2" in ServiceTags)", serviceNode()));
  EXPECT_TRUE(eval(R"("v2" not in ServiceTags)", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceTags contains "v1")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceTags not contains "v2")", serviceNode()));
  EXPECT_FALSE(eval(R"(ServiceTags contains "prim")", serviceNode()));
  auto mixed = json(R"({"L": [1, "two", true, null, {"a": 1}, [3], 4.5]})");
  EXPECT_TRUE(eval("L contains 1", mixed));
  EXPECT_TRUE(eval("L contains two", mixed));
  EXPECT_TRUE(eval("L contains true", mixed));
  EXPECT_TRUE(eval("4.5 in L", mixed));
  EXPECT_FALSE(eval("3 in L", mixed));
  EXPECT_FALSE(eval("a in L", mixed));
}

TEST(FilterIn, ObjectsByKeyAndStringsBySubstring) {
  EXPECT_TRUE(eval(R"("env" in ServiceMeta)", serviceNode()));
  EXPECT_FALSE(eval(R"("prod" in ServiceMeta)", serviceNode()));
  EXPECT_TRUE(eval(R"(NodeMeta contains "rack")", serviceNode()));
  EXPECT_TRUE(eval(R"(NodeMeta not contains "zone")", serviceNode()));
  EXPECT_TRUE(eval(R"("ode" in Node)", serviceNode()));
  EXPECT_TRUE(eval(R"(Output contains "503")", healthCheck()));
  EXPECT_FALSE(eval(R"(Name contains "db")", healthCheck()));
  EXPECT_FALSE(eval("ServicePort contains 80", serviceNode()));  // not applicable to numbers
  EXPECT_TRUE(eval("ServicePort not contains 80", serviceNode()));
}

TEST(FilterIn, SelectorOnTheLeftOfInIsItsText) {
  auto element = json(R"({"Names": ["a.b", "web"]})");
  EXPECT_TRUE(eval("web in Names", element));
  EXPECT_TRUE(eval("a.b in Names", element));
}

TEST(FilterEmpty, ArraysMapsStringsAndNull) {
  EXPECT_TRUE(eval("ServiceTaggedAddresses is empty", serviceNode()));
  EXPECT_TRUE(eval("ServiceMeta is not empty", serviceNode()));
  EXPECT_TRUE(eval("ServiceTags is not empty", serviceNode()));
  EXPECT_TRUE(eval("ServiceKind is empty", serviceNode()));
  EXPECT_TRUE(eval("Checks.0.ServiceTags is empty", serviceEntry()));
  EXPECT_TRUE(eval("Checks.1.ServiceTags is not empty", serviceEntry()));
  EXPECT_TRUE(eval("X is empty", json(R"({"X": null})")));
  EXPECT_FALSE(eval("X is not empty", json(R"({"X": null})")));
  EXPECT_FALSE(eval("ServicePort is empty", serviceNode()));  // not applicable to numbers
  EXPECT_TRUE(eval("ServicePort is not empty", serviceNode()));
}

TEST(FilterMatches, RegularExpressionsAreUnanchoredRe2) {
  EXPECT_TRUE(eval(R"(ServiceName matches "^w.b$")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceName matches "e")", serviceNode()));
  EXPECT_FALSE(eval(R"(ServiceName matches "^W")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceName matches "(?i)^W")", serviceNode()));
  EXPECT_TRUE(eval(R"(ServiceName not matches "^db")", serviceNode()));
  EXPECT_TRUE(eval(R"(Node matches `node-\d+`)", serviceNode()));
  EXPECT_TRUE(eval(R"(Node matches "node-\\d+")", serviceNode()));
  EXPECT_TRUE(eval(R"(Output matches ": 5[0-9]{2}$")", healthCheck()));
  EXPECT_FALSE(eval(R"(ServicePort matches "80")", serviceNode()));  // only strings match
  EXPECT_TRUE(eval(R"(ServicePort not matches "80")", serviceNode()));
}

TEST(FilterMissing, FollowsTheNotPresentDisposition) {
  const auto& e = serviceNode();
  EXPECT_FALSE(eval(R"(ServiceMeta.team == "x")", e));
  EXPECT_TRUE(eval(R"(ServiceMeta.team != "x")", e));
  EXPECT_FALSE(eval(R"("x" in Nope)", e));
  EXPECT_TRUE(eval(R"("x" not in Nope)", e));
  EXPECT_FALSE(eval(R"(Nope contains "x")", e));
  EXPECT_TRUE(eval(R"(Nope not contains "x")", e));
  EXPECT_TRUE(eval("Nope is empty", e));
  EXPECT_FALSE(eval("Nope is not empty", e));
  EXPECT_FALSE(eval(R"(Nope matches ".*")", e));
  EXPECT_TRUE(eval(R"(Nope not matches ".*")", e));
  EXPECT_FALSE(eval("ServiceName.Deeper == web", e));  // a step through a string
  EXPECT_FALSE(eval("ServiceTags.7 == web", e));       // index out of range
  EXPECT_FALSE(eval("ServiceTags.x == web", e));       // not an index
  EXPECT_FALSE(eval("servicename == web", e));         // selectors are case-sensitive
}

TEST(FilterSelectors, DotsBracketsAndIndexes) {
  const auto& e = serviceEntry();
  EXPECT_TRUE(eval(R"(Service.Meta.env == "prod")", e));
  EXPECT_TRUE(eval(R"(Service.Meta["env"] == "prod")", e));
  EXPECT_TRUE(eval(R"(Service.Meta[ `env` ] == prod)", e));
  EXPECT_TRUE(eval(R"(Node.Meta.rack == r1 and Node.Address == "10.0.0.1")", e));
  EXPECT_TRUE(eval("Checks.1.Status == critical", e));
  EXPECT_TRUE(eval(R"(Checks["0"].CheckID == serfHealth)", e));
  EXPECT_TRUE(eval(R"(NodeMeta["a.b"] == dotted)", serviceNode()));
  EXPECT_TRUE(eval(R"(Definition.Header["X-Probe"] contains "1")", healthCheck()));
  EXPECT_TRUE(eval("Definition.TLSSkipVerify == false", healthCheck()));
  EXPECT_TRUE(eval("a/b == 1", json(R"({"a/b": 1})")));
}

TEST(FilterBoolean, AndBindsTighterThanOr) {
  const auto& e = serviceNode();
  // true or (false and false) == true; (true or false) and false would be false.
  EXPECT_TRUE(eval("ServiceName == web or ServiceName == db and ServicePort == 1", e));
  EXPECT_FALSE(eval("(ServiceName == web or ServiceName == db) and ServicePort == 1", e));
  // (false and true) or true.
  EXPECT_TRUE(eval("ServiceName == db and ServicePort == 8080 or Node == \"node-1\"", e));
  EXPECT_TRUE(eval("ServiceName == web and ServicePort == 8080 and Node == \"node-1\"", e));
  EXPECT_FALSE(eval("ServiceName == db or ServicePort == 1 or Node == \"node-2\"", e));
}

TEST(FilterBoolean, NotAndParentheses) {
  const auto& e = serviceNode();
  EXPECT_TRUE(eval("not ServiceName == db", e));
  EXPECT_FALSE(eval("not ServiceName == web", e));
  EXPECT_TRUE(eval("not not ServiceName == web", e));
  // not binds tighter than and: (not false) and true.
  EXPECT_TRUE(eval("not ServiceName == db and ServicePort == 8080", e));
  EXPECT_FALSE(eval("not (ServiceName == db or ServicePort == 8080)", e));
  EXPECT_TRUE(eval("((ServiceName == web))", e));
  EXPECT_TRUE(eval(" ( ServiceName == web ) and ( not ( \"v9\" in ServiceTags ) ) ", e));
  EXPECT_TRUE(eval("Notes is empty", healthCheck()));  // a selector that starts like `not`
}

TEST(FilterQuoting, EscapesAndRawStrings) {
  auto e = json(R"({"S": "a\"b\\c\n\té☃😀", "R": "x\\ny", "K": {"we ird\"key": 1}})");
  EXPECT_TRUE(eval(R"(S == "a\"b\\c\n\t\u00e9\u2603\U0001F600")", e));
  EXPECT_TRUE(eval(R"(S == "a\x22b\134c\012\t\xc3\xa9☃😀")", e));
  EXPECT_TRUE(eval(R"(R == `x\ny`)", e));
  EXPECT_TRUE(eval("R == `x\\n\ry`", e));  // '\r' is dropped from raw strings, as in Go
  EXPECT_TRUE(eval(R"(K["we ird\"key"] == 1)", e));
  EXPECT_TRUE(eval(R"("we ird\"key" in K)", e));
  EXPECT_TRUE(eval("S\n==\t\"a\\\"b\\\\c\\n\\t\u00e9\u2603\U0001F600\"", e));
}

TEST(FilterCase, KeywordsAndValuesAreCaseSensitive) {
  EXPECT_NE(parseError("ServiceName == web AND ServicePort == 8080"), "");
  EXPECT_NE(parseError("ServiceTags CONTAINS web"), "");
  EXPECT_NE(parseError("NOT ServiceName == web"), "");
  EXPECT_FALSE(eval("ServiceName == WEB", serviceNode()));
}

TEST(FilterErrors, MalformedExpressions) {
  EXPECT_EQ(parseError(""), "empty expression");
  EXPECT_EQ(parseError(" \t\n"), "empty expression");
  EXPECT_NE(parseError("(ServiceName == web").find("Unmatched parentheses"), std::string::npos);
  EXPECT_NE(parseError("ServiceName == web)").find("Unmatched parentheses"), std::string::npos);
  EXPECT_NE(parseError("((a == 1) or (b == 2)").find("Unmatched parentheses"), std::string::npos);
  EXPECT_NE(parseError("ServiceName === web").find("expected a value"), std::string::npos);
  EXPECT_NE(parseError("ServiceName ~= web").find("unknown operator"), std::string::npos);
  EXPECT_NE(parseError("ServiceName > 1").find("unknown operator"), std::string::npos);
  EXPECT_NE(parseError("ServiceName ==").find("missing value"), std::string::npos);
  EXPECT_NE(parseError("ServiceName").find("missing operator"), std::string::npos);
  EXPECT_NE(parseError("ServiceName is").find("is empty"), std::string::npos);
  EXPECT_NE(parseError("ServiceName not").find("after \"not\""), std::string::npos);
  EXPECT_NE(parseError("web").find("missing operator"), std::string::npos);
  EXPECT_NE(parseError(R"("web" ServiceTags)").find("\"in\""), std::string::npos);
  EXPECT_NE(parseError(R"("web" in "x")").find("Invalid selector"), std::string::npos);
  EXPECT_NE(parseError(R"(ServiceName == "web)").find("Unterminated"), std::string::npos);
  EXPECT_NE(parseError("ServiceName == `web").find("Unterminated"), std::string::npos);
  EXPECT_NE(parseError(R"(ServiceName == "a\qb")").find("escape"), std::string::npos);
  EXPECT_NE(parseError("ServiceName == \"a\nb\"").find("newline"), std::string::npos);
  EXPECT_NE(parseError("Address == 10.0.0.1").find("Invalid number literal"), std::string::npos);
  EXPECT_NE(parseError("Port == 08080").find("Invalid number literal"), std::string::npos);
  EXPECT_NE(parseError("Node == host-name").find("expected \"and\""), std::string::npos);
  EXPECT_NE(parseError("Meta[1] == x").find("Invalid index"), std::string::npos);
  EXPECT_NE(parseError(R"(Meta["k" == x)").find("Unclosed index"), std::string::npos);
  EXPECT_NE(parseError("Meta. == x").find("after '.'"), std::string::npos);
  EXPECT_NE(parseError("ServiceName == web and").find("end of expression"), std::string::npos);
  EXPECT_NE(parseError("or ServiceName == web").find("unknown operator"), std::string::npos);
  EXPECT_NE(parseError("ServiceName == web ServicePort == 1").find("expected \"and\""),
            std::string::npos);
  EXPECT_NE(parseError("()").find("expected a selector"), std::string::npos);
  EXPECT_NE(parseError(R"(ServiceName matches "(")").find("regular expression"), std::string::npos);
}

TEST(FilterErrors, MessagesCarryTheLineColumnAndOffset) {
  EXPECT_EQ(parseError("Address == 10.0.0.1"), "1:12 (11): Invalid number literal");
  EXPECT_EQ(parseError("a == 1 and\n  b ~ 2"),
            "2:5 (15): unknown operator: expected ==, !=, "
            "in, not in, contains, not contains, matches, "
            "not matches, is empty or is not empty");
  EXPECT_EQ(parseError("a == \"\x01"), "1:6 (5): Unterminated string literal");
  EXPECT_EQ(parseError("a == \x01"),
            "1:6 (5): unexpected \\x01: expected a value (a quoted string, a number or a bare "
            "word)");
}

TEST(FilterLimits, LengthAndDepth) {
  std::string pad(8192 - std::string("a == 1").size(), ' ');
  EXPECT_TRUE(Filter::parse("a == 1" + pad).isOk());
  EXPECT_NE(parseError("a == 1" + pad + " ").find("longer than 8192"), std::string::npos);
  std::string ok = std::string(64, '(') + "a == 1" + std::string(64, ')');
  EXPECT_TRUE(Filter::parse(ok).isOk());
  std::string deep = std::string(65, '(') + "a == 1" + std::string(65, ')');
  EXPECT_NE(parseError(deep).find("nested too deeply"), std::string::npos);
  std::string unbalanced(8000, '(');
  EXPECT_NE(parseError(unbalanced).find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 1000; ++i) nots += "not ";
  EXPECT_TRUE(eval(nots + "ServiceName == web", serviceNode()));  // even count cancels out
}

TEST(FilterLimits, RegexesAreBoundedAndLinear) {
  EXPECT_NE(parseError(R"(a matches "((a{1000}){1000}){1000}")").find("regular expression"),
            std::string::npos);
  EXPECT_NE(parseError(R"(a matches "\\pL{1000}")").find("pattern too large"), std::string::npos);
  std::string many = R"(S matches "a")";
  for (int i = 1; i < 32; ++i) many += R"( or S matches "a")";
  EXPECT_TRUE(Filter::parse(many).isOk());
  EXPECT_NE(parseError(many + R"( or S matches "b")").find("too many regular expressions"),
            std::string::npos);
  // Catastrophic for a backtracking engine; RE2 runs it in linear time.
  auto element = json(("{\"S\": \"" + std::string(5000, 'a') + "!\"}").c_str());
  EXPECT_FALSE(eval(R"(S matches "^(a+)+$")", element));
  EXPECT_TRUE(eval(R"(S matches "^(a|aa)+!$")", element));
}

TEST(FilterCopies, ShareTheTree) {
  auto parsed = Filter::parse("ServiceName == web");
  ASSERT_TRUE(parsed.isOk());
  Filter copy = parsed.value();
  EXPECT_TRUE(copy.matches(serviceNode()));
  EXPECT_FALSE(copy.matches(healthCheck().at("Definition")));
  EXPECT_FALSE(copy.matches(web::json::value::null()));
  EXPECT_FALSE(copy.matches(web::json::value::string("web")));
}

}  // namespace
}  // namespace cairn::filter

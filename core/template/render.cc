#include "core/template/render.h"

#include <set>

#include "core/template/functions.h"
#include "core/template/parser.h"

namespace cairn::tmpl {
namespace {

// What ends a list's execution early: {{break}} and {{continue}} inside a range.
enum class Flow { kNormal, kBreak, kContinue };

class Executor : public FunctionContext {
 public:
  Executor(const std::string& name, const RenderDeps& deps, const RenderLimits& limits)
      : name_(name), deps_(deps), limits_(limits) {
    vars_.emplace_back("$", Value());  // consul-template renders with nil data
  }

  StatusOr<Rendered> run(const NodeList& nodes) {
    Flow flow = Flow::kNormal;
    CAIRN_RETURN_IF_ERROR(execList(nodes, Value(), &flow));
    result_.complete = complete_;
    result_.text = std::move(out_);
    return std::move(result_);
  }

  std::optional<Value> data(const Dependency& dep) override {
    if (seen_.insert(dep.id()).second) result_.used.push_back(dep);
    std::optional<Value> v = deps_.data ? deps_.data(dep) : std::nullopt;
    if (!v) complete_ = false;
    return v;
  }
  void markIncomplete() override { complete_ = false; }
  std::optional<std::string> env(const std::string& name) override {
    return deps_.env ? deps_.env(name) : std::nullopt;
  }

 private:
  Status error(Pos pos, const std::string& what) const {
    return invalidArgument(name_ + ":" + std::to_string(pos.line) + ":" +
                           std::to_string(pos.column) + ": " + what);
  }

  Status step(Pos pos) {
    if (++steps_ > limits_.max_steps) {
      return error(pos, "render stopped after " + std::to_string(limits_.max_steps) + " steps");
    }
    return Status::ok();
  }

  Status emit(Pos pos, const std::string& text) {
    if (out_.size() + text.size() > limits_.max_output) {
      return error(pos, "output larger than " + std::to_string(limits_.max_output) + " bytes");
    }
    out_ += text;
    return Status::ok();
  }

  Status execList(const NodeList& nodes, const Value& dot, Flow* flow) {
    for (const Node& n : nodes) {
      CAIRN_RETURN_IF_ERROR(execNode(n, dot, flow));
      if (*flow != Flow::kNormal) return Status::ok();
    }
    return Status::ok();
  }

  Status execNode(const Node& n, const Value& dot, Flow* flow) {
    CAIRN_RETURN_IF_ERROR(step(n.pos));
    switch (n.kind) {
      case Node::Kind::kText:
        return emit(n.pos, n.text);
      case Node::Kind::kAction: {
        auto v = evalPipeline(n.pipe, dot);
        if (!v.isOk()) return v.status();
        if (!n.pipe.decl.empty()) return Status::ok();  // declarations print nothing
        return emit(n.pos, v->isNull() ? "<no value>" : v->format());
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith:
        return execIfWith(n, dot, flow);
      case Node::Kind::kRange:
        return execRange(n, dot, flow);
      case Node::Kind::kBreak:
        *flow = Flow::kBreak;
        return Status::ok();
      case Node::Kind::kContinue:
        *flow = Flow::kContinue;
        return Status::ok();
    }
    return Status::ok();
  }

  Status execIfWith(const Node& n, const Value& dot, Flow* flow) {
    size_t mark = vars_.size();
    auto v = evalPipeline(n.pipe, dot);
    Status s = v.status();
    if (s.isOk()) {
      bool with = n.kind == Node::Kind::kWith;
      if (v->truthy()) {
        s = execList(n.body, with ? *v : dot, flow);
      } else {
        s = execList(n.else_body, dot, flow);
      }
    }
    vars_.resize(mark);
    return s;
  }

  Status execRange(const Node& n, const Value& dot, Flow* flow) {
    size_t mark = vars_.size();
    auto v = evalPipeline(n.pipe, dot, /*declare=*/false);
    if (!v.isOk()) return v.status();
    // The loop variables: ($e) or ($i, $e), declared once for the loop or assigned.
    for (const auto& name : n.pipe.decl) {
      if (n.pipe.assign) {
        if (!findVar(name)) return error(n.pos, "undefined variable: " + name);
      } else {
        vars_.emplace_back(name, Value());
      }
    }
    bool broke = false;
    auto iteration = [&](const Value& key, const Value& elem) -> Status {
      CAIRN_RETURN_IF_ERROR(step(n.pos));
      if (n.pipe.decl.size() == 1) *findVar(n.pipe.decl[0]) = elem;
      if (n.pipe.decl.size() == 2) {
        *findVar(n.pipe.decl[0]) = key;
        *findVar(n.pipe.decl[1]) = elem;
      }
      size_t inner = vars_.size();
      Flow body_flow = Flow::kNormal;
      Status s = execList(n.body, elem, &body_flow);
      vars_.resize(inner);
      broke = body_flow == Flow::kBreak;
      return s;
    };
    Status s = Status::ok();
    size_t count = 0;
    switch (v->kind()) {
      case Value::Kind::kList:
        for (const Value& elem : v->asList()) {
          s = iteration(Value::integer(static_cast<int64_t>(count++)), elem);
          if (!s.isOk() || broke) break;
        }
        break;
      case Value::Kind::kMap:
        if (v->isRecord()) {
          s = error(n.pos, "range can't iterate over " + v->format());
          break;
        }
        for (const auto& [k, elem] : v->asMap()) {
          ++count;
          s = iteration(Value::string(k), elem);
          if (!s.isOk() || broke) break;
        }
        break;
      case Value::Kind::kInt:
        for (int64_t i = 0; i < v->asInt(); ++i) {
          ++count;
          s = iteration(Value::integer(i), Value::integer(i));
          if (!s.isOk() || broke) break;
        }
        break;
      case Value::Kind::kNull:
        break;
      default:
        s = error(n.pos, "range can't iterate over " + v->format());
    }
    if (s.isOk() && count == 0) s = execList(n.else_body, dot, flow);
    vars_.resize(mark);
    return s;
  }

  Value* findVar(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }

  StatusOr<Value> evalPipeline(const Pipeline& p, const Value& dot, bool declare = true) {
    Value value;
    for (size_t i = 0; i < p.cmds.size(); ++i) {
      auto v = evalCommand(p.cmds[i], dot, i == 0 ? nullptr : &value);
      if (!v.isOk()) return v;
      value = std::move(*v);
    }
    if (!declare) return value;
    for (const auto& name : p.decl) {
      if (p.assign) {
        Value* var = findVar(name);
        if (!var) return error(p.pos, "undefined variable: " + name);
        *var = value;
      } else {
        vars_.emplace_back(name, value);
      }
    }
    return value;
  }

  StatusOr<Value> evalCommand(const Command& cmd, const Value& dot, const Value* piped) {
    const Operand& first = cmd.args.front();
    if (first.kind == Operand::Kind::kFunction) return call(cmd, dot, piped);
    if (cmd.args.size() > 1 || piped) {
      return error(first.pos, "can't give argument to non-function " + describe(first));
    }
    return evalOperand(first, dot);
  }

  static std::string describe(const Operand& op) {
    std::string chain;
    for (const auto& f : op.fields) chain += "." + f;
    switch (op.kind) {
      case Operand::Kind::kDot:
        return ".";
      case Operand::Kind::kVariable:
        return op.name + chain;
      case Operand::Kind::kLiteral:
        return op.literal.kind() == Value::Kind::kString ? "\"" + op.literal.asString() + "\""
                                                         : op.literal.format();
      case Operand::Kind::kPipeline:
        return "(...)" + chain;
      default:
        return chain.empty() ? op.name : chain;
    }
  }

  StatusOr<Value> call(const Command& cmd, const Value& dot, const Value* piped) {
    const Operand& fn = cmd.args.front();
    size_t count = cmd.args.size() - 1 + (piped ? 1 : 0);
    if (fn.name == "and" || fn.name == "or") return logical(cmd, dot, piped, count);
    std::vector<Value> args;
    args.reserve(count);
    for (size_t i = 1; i < cmd.args.size(); ++i) {
      auto v = evalOperand(cmd.args[i], dot);
      if (!v.isOk()) return v;
      args.push_back(std::move(*v));
    }
    if (piped) args.push_back(*piped);
    auto result = findFunction(fn.name)(*this, args);
    if (!result.isOk()) {
      return error(fn.pos, "error calling " + fn.name + ": " + result.status().message());
    }
    return result;
  }

  // `and` and `or` stop at the first argument that decides, as Go does.
  StatusOr<Value> logical(const Command& cmd, const Value& dot, const Value* piped, size_t count) {
    const Operand& fn = cmd.args.front();
    if (count == 0)
      return error(fn.pos, "wrong number of args for " + fn.name + ": want at least 1 got 0");
    bool is_and = fn.name == "and";
    Value v;
    for (size_t i = 1; i <= count; ++i) {
      if (i < cmd.args.size()) {
        auto arg = evalOperand(cmd.args[i], dot);
        if (!arg.isOk()) return arg;
        v = std::move(*arg);
      } else {
        v = *piped;
      }
      if (v.truthy() != is_and) return v;
    }
    return v;
  }

  StatusOr<Value> evalOperand(const Operand& op, const Value& dot) {
    Value base;
    switch (op.kind) {
      case Operand::Kind::kLiteral:
        return op.literal;
      case Operand::Kind::kDot:
        return dot;
      case Operand::Kind::kField:
        base = dot;
        break;
      case Operand::Kind::kVariable: {
        Value* var = findVar(op.name);
        if (!var) return error(op.pos, "undefined variable: " + op.name);
        base = *var;
        break;
      }
      case Operand::Kind::kFunction:
        return call(Command{op.pos, {op}}, dot, nullptr);
      case Operand::Kind::kPipeline: {
        auto v = evalPipeline(*op.nested, dot);
        if (!v.isOk()) return v;
        base = std::move(*v);
        break;
      }
    }
    return fields(std::move(base), op);
  }

  StatusOr<Value> fields(Value v, const Operand& op) {
    for (const auto& name : op.fields) {
      if (v.kind() == Value::Kind::kMap) {
        auto it = v.asMap().find(name);
        if (it != v.asMap().end()) {
          v = it->second;
          continue;
        }
        if (!v.isRecord()) {
          v = Value();  // a missing map key is nil, as in Go
          continue;
        }
        std::string known;
        for (const auto& [k, unused] : v.asMap()) known += (known.empty() ? "" : ", ") + k;
        return error(op.pos, "can't evaluate field " + name + " (the fields are " + known + ")");
      }
      if (v.isNull()) return error(op.pos, "nil pointer evaluating interface {}." + name);
      return error(op.pos, "can't evaluate field " + name + " in type " + v.typeName());
    }
    return v;
  }

  const std::string& name_;
  const RenderDeps& deps_;
  const RenderLimits& limits_;
  std::vector<std::pair<std::string, Value>> vars_;
  std::string out_;
  Rendered result_;
  std::set<std::string> seen_;
  bool complete_ = true;
  size_t steps_ = 0;
};

}  // namespace

StatusOr<Template> Template::parse(std::string_view text, std::string name) {
  auto nodes = parseTemplate(text, name);
  if (!nodes.isOk()) return nodes.status();
  return Template(std::move(name), std::make_shared<const NodeList>(std::move(*nodes)));
}

StatusOr<Rendered> Template::render(const RenderDeps& deps, const RenderLimits& limits) const {
  return Executor(name_, deps, limits).run(*nodes_);
}

}  // namespace cairn::tmpl

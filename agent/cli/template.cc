// `cairn template`: consul-template's everyday subset (docs/template.md). The flags are
// consul-template's; the loop is template_runner.cc, the engine core/template.
#include "agent/cli/commands.h"
#include "agent/cli/template_runner.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn template [options]

  Renders templates written for consul-template (Go text/template with key,
  keyOrDefault, ls, tree, service, services, node, nodes and the usual helper
  functions) from Cairn's catalog and KV store, and renders them again when the
  data they read changes, through blocking queries. Each output is written
  atomically, and its command runs only when the output changed.

      $ cairn template -template "nginx.ctmpl:/etc/nginx/conf.d/web.conf:nginx -s reload"
      $ cairn template -once -template "in.tpl:out.txt"
      $ cairn template -template "app.ctmpl:app.conf" -exec "./app -config app.conf"

  What is supported, and what is not: docs/template.md.
)";

struct TemplateFlags {
  HttpOptions http;
  std::vector<std::string> templates;
  std::string wait;
  std::string exec_reload_signal;
  std::string exec_kill_signal = "SIGTERM";
  std::string exec_kill_timeout = "30s";
  std::string log_level;
  TemplateRunOptions run;
};

void defineFlags(FlagSet& fs, TemplateFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addString("consul-addr", &f.http.http_addr, "Alias of -http-addr (consul-template's name).");
  fs.addString("consul-token", &f.http.token, "Alias of -token (consul-template's name).");
  fs.addStringList("template", &f.templates,
                   "A template to render, as \"<source>:<destination>[:<command>]\"; the command "
                   "runs (through /bin/sh -c) each time the destination changes. Repeatable.");
  fs.addBool("once", &f.run.once,
             "Render each template once (when all their data is there), run the commands and "
             "exit.");
  fs.addBool("dry", &f.run.dry, "Print the renders to stdout instead of writing files.");
  fs.addString("wait", &f.wait,
               "\"<min>[:<max>]\": after a change, render when nothing changed for <min>, or "
               "<max> after the first change at the latest (default max: 4 x min).");
  fs.addString("exec", &f.run.exec_command,
               "A command to supervise: started after the first render, signalled with "
               "SIGINT/SIGTERM/SIGHUP when this command gets them, restarted (or sent "
               "-exec-reload-signal) when a template changes. Its exit code is ours.");
  fs.addString("exec-reload-signal", &f.exec_reload_signal,
               "Signal sent to the -exec child when a template changes, instead of restarting "
               "it (e.g. SIGHUP).");
  fs.addString("exec-kill-signal", &f.exec_kill_signal,
               "Signal that stops the -exec child for a restart. Default SIGTERM.");
  fs.addString("exec-kill-timeout", &f.exec_kill_timeout,
               "How long the child gets to exit after -exec-kill-signal before SIGKILL. Default "
               "30s.");
  fs.addString("log-level", &f.log_level,
               "info (default), or warn / err to leave out the [INFO] lines.");
}

// The flags' values checked and turned into the runner's options.
Status finish(TemplateFlags& f) {
  if (f.templates.empty()) return invalidArgument("At least one -template is required");
  for (const auto& t : f.templates) {
    auto spec = parseTemplateSpec(t);
    if (!spec.isOk()) return spec.status();
    f.run.templates.push_back(*spec);
  }
  if (!f.wait.empty()) {
    auto wait = parseWaitSpec(f.wait);
    if (!wait.isOk()) return wait.status();
    f.run.wait = *wait;
  }
  auto reload = parseSignalName(f.exec_reload_signal);
  if (!reload.isOk()) return reload.status();
  f.run.exec_reload_signal = *reload;
  auto kill = parseSignalName(f.exec_kill_signal);
  if (!kill.isOk()) return kill.status();
  f.run.exec_kill_signal = *kill == 0 ? 15 : *kill;
  auto timeout = parseGoDuration(f.exec_kill_timeout);
  if (!timeout.isOk())
    return invalidArgument("invalid -exec-kill-timeout: " + timeout.status().message());
  f.run.exec_kill_timeout = *timeout;
  const std::string& level = f.log_level;
  f.run.quiet = level == "warn" || level == "WARN" || level == "err" || level == "ERR";
  return Status::ok();
}

}  // namespace

int runTemplate(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  TemplateFlags f;
  defineFlags(fs, f);
  std::string help = commandHelp(kHelp, fs);
  if (auto code = parseFlags(fs, args, help, io)) return *code;
  if (!fs.args().empty()) {
    io.err << "This command takes no arguments (templates are given with -template)\n";
    return 1;
  }
  if (Status s = finish(f); !s.isOk()) {
    io.err << s.message() << "\n\n" << help;
    return 1;
  }
  return runTemplates(f.run, f.http, io);
}

}  // namespace cairn::cli

// Browser-test harness: starts real `cairn agent` processes on loopback (free ports, fresh data
// dirs) and Debian's chromium through playwright-core. Only 127.0.0.0/8 is ever contacted.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CAIRN_CHROMIUM || '/usr/bin/chromium';
const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const CAIRN_BIN = resolve(process.env.CAIRN_BIN || join(REPO, 'build/asan/agent/cairn'));

// Flags for a sandbox without network: no background traffic, no GPU, no first-run UI.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function freePort(host = '127.0.0.1') {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// Polls `cond` (sync or async) until it returns a truthy value or `ms` pass.
export async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    let v;
    try {
      v = await cond();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// One `cairn agent` process. `args` are the agent flags; logs go to files in its directory.
export class Agent {
  constructor(name, host, args) {
    this.name = name;
    this.host = host;
    this.args = args;
    this.dir = mkdtempSync(join(tmpdir(), `cairn-ui-${name}-`));
  }

  get base() {
    return `http://${this.host}:${this.httpPort}`;
  }

  start() {
    if (!existsSync(CAIRN_BIN)) throw new Error(`cairn binary not found at ${CAIRN_BIN} (set CAIRN_BIN)`);
    this.stdout = join(this.dir, 'stdout.log');
    this.stderr = join(this.dir, 'stderr.log');
    this.proc = spawn(CAIRN_BIN, ['agent', ...this.args], {
      cwd: this.dir,
      stdio: ['ignore', openSync(this.stdout, 'a'), openSync(this.stderr, 'a')],
    });
    this.exited = false;
    this.proc.on('exit', () => { this.exited = true; });
    return this;
  }

  async waitLeader(ms = 60000) {
    return waitFor(async () => {
      if (this.exited) throw new Error(`${this.name} exited:\n${this.logs()}`);
      const r = await fetch(this.base + '/v1/status/leader');
      return r.ok && (await r.json()) !== '' ? true : undefined;
    }, ms, `${this.name} to have a leader`).catch((e) => {
      throw new Error(`${e.message}\n${this.logs()}`);
    });
  }

  logs() {
    const read = (p) => (existsSync(p) ? readFileSync(p, 'utf8').slice(-6000) : '');
    return `--- ${this.name} stderr ---\n${read(this.stderr)}\n--- ${this.name} stdout ---\n${read(this.stdout)}`;
  }

  async stop() {
    if (this.proc && !this.exited) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => !this.exited && this.proc.kill('SIGKILL'), 15000);
      await done;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  // --- HTTP helpers (the test's own "other writer") ---
  async call(method, path, body, headers = {}) {
    const r = await fetch(this.base + path, { method, body, headers });
    const text = await r.text();
    if (!r.ok && r.status !== 404) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return { status: r.status, text, json: () => JSON.parse(text), headers: r.headers };
  }

  kvUrl(key) {
    return '/v1/kv/' + key.split('/').map(encodeURIComponent).join('/');
  }

  async put(key, value, query = '') {
    return (await this.call('PUT', this.kvUrl(key) + query, value)).text.trim() === 'true';
  }

  // The raw bytes of a key as a string (utf-8), or null when absent.
  async get(key) {
    const r = await this.call('GET', this.kvUrl(key) + '?raw');
    return r.status === 404 ? null : r.text;
  }

  async entry(key) {
    const r = await this.call('GET', this.kvUrl(key));
    return r.status === 404 ? null : r.json()[0];
  }

  // Writes many keys with /v1/txn, 128 operations per transaction.
  async putMany(pairs) {
    for (let i = 0; i < pairs.length; i += 128) {
      const ops = pairs.slice(i, i + 128).map(([k, v]) => ({ KV: { Verb: 'set', Key: k, Value: Buffer.from(v).toString('base64') } }));
      await this.call('PUT', '/v1/txn', JSON.stringify(ops));
    }
  }
}

export async function startDevAgent() {
  const port = await freePort();
  const agent = new Agent('dev', '127.0.0.1', ['-dev', '-http-port', String(port), '-dns-port', '-1', '-log-level', 'warn']);
  agent.httpPort = port;
  agent.start();
  await agent.waitLeader();
  return agent;
}

// Three servers on their own 127.x.y.{1,2,3} addresses, joined with -bootstrap-expect 3.
export async function startCluster() {
  const a = 64 + (process.pid % 128);
  const b = 1 + Math.floor(Math.random() * 250);
  const servers = [];
  for (let i = 1; i <= 3; i++) {
    const ip = `127.${a}.${b}.${i}`;
    const s = { ip, http: await freePort(ip), rpc: await freePort(ip) };
    while (s.rpc === s.http) s.rpc = await freePort(ip);
    servers.push(s);
  }
  const agents = servers.map((s, i) => {
    const peers = servers.filter((o) => o !== s).flatMap((o) => ['-retry-join', `${o.ip}:${o.rpc}`]);
    const agent = new Agent(`s${i + 1}`, s.ip, [
      '-server', '-node', `s${i + 1}`, '-bind', s.ip, '-client', s.ip, '-http-port', String(s.http),
      '-server-port', String(s.rpc), '-dns-port', '-1', '-bootstrap-expect', '3', '-log-level', 'warn', ...peers,
    ]);
    agent.httpPort = s.http;
    mkdirSync(join(agent.dir, 'data'));
    agent.args.push('-data-dir', join(agent.dir, 'data'));
    return agent;
  });
  for (const agent of agents) agent.start();
  await Promise.all(agents.map((agent) => agent.waitLeader(90000)));
  return agents;
}

// A browser with a fresh profile; `browser.newPage()` pages record console errors, failed
// requests and any request to another origin (there must be none).
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'cairn-ui-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.profile = profile;
  return context;
}

export async function closeBrowser(context) {
  await context.close();
  rmSync(context.profile, { recursive: true, force: true });
}

// A new page that records problems: console errors, page errors, dialogs (an injected
// alert() would open one) and requests leaving `origin`.
export async function newPage(context, origin) {
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => m.type() === 'error' && page.problems.push('console: ' + m.text()));
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('dialog', async (d) => {
    page.problems.push('dialog: ' + d.message());
    await d.dismiss();
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:')) page.problems.push('foreign request: ' + url);
  });
  return page;
}

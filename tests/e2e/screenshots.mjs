// Takes the screenshots in docs/ui/ (docs/ui.md): a seeded `cairn agent -dev` and a 3-server
// cluster, each screen at 1280x800 and the KV folder and editor at phone width (390x844).
//   node tests/e2e/screenshots.mjs   (CAIRN_BIN names the binary)
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { closeBrowser, launchBrowser, newPage, startCluster, startDevAgent, waitFor } from './harness.mjs';

const OUT = resolve(new URL('../../docs/ui', import.meta.url).pathname);
mkdirSync(OUT, { recursive: true });

async function seed(agent) {
  await agent.putMany([
    ['config/app/settings.json', JSON.stringify({ port: 8080, features: { search: true, beta: false }, hosts: ['a.internal', 'b.internal'] }, null, 2)],
    ['config/app/feature-flags.yaml', 'search: true\nbeta: false\nrollout:\n  percent: 25\n  regions:\n    - eu-west\n    - us-east\n'],
    ['config/app/banner', 'Welcome to the <b>staging</b> site'],
    ['config/db/primary', 'db-1.internal:5432'],
    ['config/db/replicas/', ''],
    ['config/key with spaces & #?%', 'odd names round-trip'],
    ['service/web/leader', 'web-1'],
    ['service/web/version', '1.4.2'],
    ['README', 'Top-level key'],
  ]);
  await agent.call('PUT', agent.kvUrl('config/binary.bin'), Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0x80, 0x7f]));
  const node = (await agent.call('GET', '/v1/agent/self')).json().Config.NodeName;
  const sid = (await agent.call('PUT', '/v1/session/create', JSON.stringify({ Name: 'web leader election', Node: node, TTL: '600s' }))).json().ID;
  await agent.call('PUT', agent.kvUrl('service/web/leader') + '?acquire=' + sid, 'web-1');
  const services = [
    { Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v1', 'http'], Check: { CheckID: 'web-1-ttl', Name: 'HTTP health', TTL: '10m' } },
    { Name: 'web', ID: 'web-2', Port: 8081, Tags: ['v1', 'http'], Check: { CheckID: 'web-2-ttl', Name: 'HTTP health', TTL: '10m' } },
    { Name: 'api', ID: 'api-1', Port: 9090, Tags: ['grpc'], Check: { CheckID: 'api-1-ttl', Name: 'gRPC health', TTL: '10m' } },
    { Name: 'cache', ID: 'cache-1', Port: 6379, Tags: ['redis'], Check: { CheckID: 'cache-1-ttl', Name: 'PING', TTL: '10m' } },
  ];
  for (const s of services) await agent.call('PUT', '/v1/agent/service/register', JSON.stringify(s));
  await agent.call('PUT', '/v1/agent/check/pass/web-1-ttl?note=' + encodeURIComponent('HTTP GET /health: 200 OK'));
  await agent.call('PUT', '/v1/agent/check/fail/web-2-ttl?note=' + encodeURIComponent('HTTP GET /health: connection refused'));
  await agent.call('PUT', '/v1/agent/check/pass/api-1-ttl?note=serving');
  await agent.call('PUT', '/v1/agent/check/warn/cache-1-ttl?note=' + encodeURIComponent('memory 91% used'));
  return sid;
}

async function shot(page, name) {
  await page.waitForTimeout(150);  // let the last frame paint; a screenshot, not a test
  await page.screenshot({ path: join(OUT, name + '.png'), fullPage: false });
  console.log('wrote docs/ui/' + name + '.png');
}

const agent = await startDevAgent();
const browser = await launchBrowser();
let cluster = [];
try {
  const sid = await seed(agent);
  const page = await newPage(browser, agent.base);
  const go = async (path, ready) => {
    await page.goto(agent.base + path);
    await ready();
  };
  await go('/ui/kv/', () => page.getByRole('link', { name: 'config/ (folder)' }).waitFor());
  await shot(page, 'kv-root');
  await go('/ui/kv/config/', () => page.getByRole('link', { name: 'app/ (folder)' }).waitFor());
  await shot(page, 'kv-folder');
  await go('/ui/kv/config/app/settings.json', () => page.getByRole('radio', { name: 'JSON' }).waitFor());
  await shot(page, 'kv-edit-json');
  await go('/ui/kv/config/app/feature-flags.yaml', () => page.getByLabel('Value', { exact: true }).waitFor());
  await page.getByRole('radio', { name: 'YAML' }).check();
  await page.getByLabel('Value', { exact: true }).fill('search: true\nbeta: false\nrollout:\n  percent: 25\n   regions:\n');
  await page.getByRole('alert').waitFor();
  await shot(page, 'kv-yaml-error');
  await go('/ui/kv/config/binary.bin', () => page.getByLabel('Value (base64)').waitFor());
  await page.getByText('Hex preview').click();
  await shot(page, 'kv-binary');
  await go('/ui/kv/service/web/leader', () => page.getByTestId('lock-holder').getByRole('link').waitFor());
  await shot(page, 'kv-locked');
  // A conflict: edit, another writer saves, then save.
  await go('/ui/kv/config/app/banner', () => page.getByLabel('Value', { exact: true }).waitFor());
  const value = page.getByLabel('Value', { exact: true });
  await waitFor(async () => (await value.inputValue()) !== '', 5000, 'value');
  await value.fill('Welcome to the staging site (edited in the UI)');
  await agent.put('config/app/banner', 'Welcome to the production site');
  await page.getByText(/Another writer changed this key/).waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alertdialog').waitFor();
  await shot(page, 'kv-conflict');
  await go('/ui/kv/config/?new', () => page.getByLabel('Key or folder name').waitFor());
  await page.getByLabel('Key or folder name').fill('app/timeout');
  await page.getByLabel('Value', { exact: true }).fill('30s');
  await shot(page, 'kv-create');
  await go('/ui/kv/config/', () => page.getByRole('button', { name: 'Delete folder' }).waitFor());
  await page.getByRole('button', { name: 'Delete folder' }).click();
  await page.getByRole('alertdialog').waitFor();
  await shot(page, 'kv-delete-folder');
  await go('/ui/services', () => page.locator('tr[data-service="web"]').getByText('critical').waitFor());
  await shot(page, 'services');
  await go('/ui/services/web', () => page.locator('li[data-instance="web-2"]').waitFor());
  await shot(page, 'service-instances');
  await go('/ui/nodes', () => page.locator('tr[data-node]').first().waitFor());
  await shot(page, 'nodes');
  const nodeName = (await agent.call('GET', '/v1/agent/self')).json().Config.NodeName;
  await go('/ui/nodes/' + encodeURIComponent(nodeName), () => page.getByRole('heading', { name: 'Checks' }).waitFor());
  await shot(page, 'node');
  await go('/ui/sessions', () => page.getByRole('link', { name: sid }).waitFor());
  await shot(page, 'sessions');
  await go('/ui/sessions/' + sid, () => page.getByRole('link', { name: 'service/web/leader' }).waitFor());
  await shot(page, 'session');
  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  await go('/ui/kv/config/', () => page.getByRole('link', { name: 'app/ (folder)' }).waitFor());
  await shot(page, 'phone-kv-folder');
  await go('/ui/kv/config/app/settings.json', () => page.getByRole('radio', { name: 'JSON' }).waitFor());
  await shot(page, 'phone-kv-edit');
  await go('/ui/services', () => page.locator('tr[data-service="web"]').waitFor());
  await shot(page, 'phone-services');
  await page.setViewportSize({ width: 1280, height: 800 });
  // Error state: the agent unreachable (requests refused by the page itself).
  await page.route('**/v1/**', (r) => r.abort('connectionrefused'));
  await go('/ui/kv/', () => page.getByRole('alert').first().waitFor());
  await shot(page, 'error-unreachable');
  await page.unroute('**/v1/**');
  await page.route('**/v1/**', (r) => r.fulfill({ status: 403, body: 'Permission denied' }));
  await go('/ui/kv/', () => page.getByLabel('ACL token').waitFor());
  await shot(page, 'error-403-token');
  await page.unroute('**/v1/**');
  // The cluster view on a 3-server cluster.
  cluster = await startCluster();
  // On the leader: followers answer autopilot health with "not the leader".
  const leaderAddr = await waitFor(async () => (await cluster[0].call('GET', '/v1/status/leader')).json(), 30000, 'a leader');
  const leader = cluster.find((s) => leaderAddr.startsWith(s.host + ':'));
  const cpage = await newPage(browser, leader.base);
  await cpage.goto(leader.base + '/ui/cluster');
  await waitFor(async () => (await cpage.locator('tr[data-server] .badge').count()) === 3, 30000, 'server health');
  // Healthy needs stabilisation (10 s); a loaded machine may never get there: shoot anyway.
  await waitFor(async () => (await cpage.locator('tr[data-server] .status-healthy').count()) === 3, 30000, 'healthy').catch(() => {});
  await shot(cpage, 'cluster');
  for (const p of [...page.problems, ...cpage.problems]) {
    if (!/ERR_CONNECTION_REFUSED|403|Permission denied/.test(p)) console.log('problem: ' + p);
  }
} finally {
  await closeBrowser(browser);
  await agent.stop();
  await Promise.all(cluster.map((s) => s.stop()));
}

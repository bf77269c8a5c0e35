// The cluster: servers, leader, voters, Raft indexes and autopilot health. These endpoints have
// no blocking queries, so the view polls every 2 seconds.
import { html } from '../vendor/preact-htm.js';
import { api } from './api.js';
import { ErrorNote, Loading, Status, usePoll } from './ui.js';

async function loadCluster() {
  const [leader, raft, health] = await Promise.all([
    api('/v1/status/leader'),
    api('/v1/operator/raft/configuration'),
    api('/v1/operator/autopilot/health').catch((e) => ({ body: null, error: e })),
  ]);
  return { leader: leader.body, raft: raft.body, health: health.body, healthError: health.error };
}

export function ClusterView() {
  const { data, error } = usePoll(loadCluster, 2000);
  const byId = new Map(((data && data.health && data.health.Servers) || []).map((s) => [s.ID, s]));
  return html`<section aria-labelledby="cluster-title">
    <h1 id="cluster-title">Cluster</h1>
    <${ErrorNote} error=${error} />
    ${!data ? html`<${Loading} what="the cluster" />` : html`
      <dl class="meta">
        <div><dt>Leader</dt><dd data-testid="leader">${data.leader || 'no leader'}</dd></div>
        <div><dt>Raft configuration index</dt><dd>${data.raft.Index}</dd></div>
        ${data.health && html`<div><dt>Autopilot</dt><dd><${Status} status=${data.health.Healthy ? 'healthy' : 'unhealthy'} /></dd></div>
          <div><dt>Failure tolerance</dt><dd>${data.health.FailureTolerance}</dd></div>`}
      </dl>
      ${data.healthError && (/not the leader/i.test(data.healthError.message)
        ? html`<p class="note" role="status" data-testid="health-on-leader">Autopilot health is answered by the leader only, and this
            agent is a follower: open this page on the leader (${data.leader || 'none'}) for the health columns.</p>`
        : html`<${ErrorNote} error=${data.healthError} />`)}
      <table class="grid"><caption class="sr-only">Servers</caption>
        <thead><tr><th scope="col">Server</th><th scope="col">Address</th><th scope="col">Role</th><th scope="col">Voter</th>
          <th scope="col">Last index</th><th scope="col">Last term</th><th scope="col">Last contact</th><th scope="col">Health</th></tr></thead>
        <tbody>${data.raft.Servers.map((s) => {
          const h = byId.get(s.ID) || {};
          return html`<tr data-server=${s.Node}><th scope="row">${s.Node}<div class="muted small mono">${s.ID}</div></th>
            <td data-label="Address">${s.Address}</td><td data-label="Role">${s.Leader ? html`<strong>leader</strong>` : 'follower'}</td>
            <td data-label="Voter">${s.Voter ? 'yes' : 'no'}</td><td data-label="Last index">${h.LastIndex ?? s.LastIndex ?? '–'}</td>
            <td data-label="Last term">${h.LastTerm ?? '–'}</td><td data-label="Last contact">${h.LastContact ?? '–'}</td><td data-label="Health">${h.Healthy === undefined ? '–' : html`<${Status} status=${h.Healthy ? 'healthy' : 'unhealthy'} />`}</td></tr>`;
        })}</tbody></table>`}
  </section>`;
}

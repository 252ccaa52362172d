// Workers (admin): capabilities, tags, the job and node each is on, last heartbeat, failure streaks,
// blocked output types, and unblock.
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { age, ErrorBox, html, Loading, usePoll } from './ui.js';

function Worker({ worker, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const unblock = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/workers/${encodeURIComponent(worker.id)}/blocks`, { method: 'DELETE' });
      await onChanged();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  const job = worker.current_job;
  const failures = Object.entries(worker.failures || {});
  return html`<tr data-worker=${worker.name}>
    <th scope="row">${worker.name}<div class="muted">${worker.id}</div></th>
    <td>${worker.capabilities.join(', ') || '—'}</td>
    <td data-tags>${(worker.tags || []).length ? worker.tags.map((t) => html`<span class="tag">${t}</span> `) : '—'}</td>
    <td>${job ? html`<a href=${`#/orders/${job.order_id}`}>${job.id}</a><div class="muted">${job.output_type}${job.node ? ` · node ${job.node}` : ''}${job.fraction != null ? ` ${Math.round(job.fraction * 100)}%` : ''}</div>` : html`<span class="muted">idle</span>`}</td>
    <td>${age(worker.last_seen)}</td>
    <td>${failures.length ? failures.map(([t, n]) => `${t}: ${n}`).join(', ') : '—'}</td>
    <td>${worker.blocked_output_types.length ? html`<span class="badge s-failed">${worker.blocked_output_types.join(', ')}</span>
      <button onClick=${unblock} disabled=${busy} aria-label=${`unblock ${worker.name}`}>Unblock</button>` : '—'}
      <${ErrorBox} error=${error} /></td>
  </tr>`;
}

export function WorkersPage({ signOut }) {
  const { data, error, refresh } = usePoll('/api/workers', signOut, 2000);
  return html`<section aria-labelledby="workers-h">
    <h1 id="workers-h">Workers</h1>
    <${ErrorBox} error=${error} what="Workers" />
    ${!data ? (!error && html`<${Loading} what="workers" />`) : data.length === 0
      ? html`<p class="empty">No worker has registered. Start one with <code>hartomat worker --server URL --token WORKER_TOKEN</code>.</p>`
      : html`<div class="scroll"><table class="workers">
        <thead><tr><th scope="col">Worker</th><th scope="col">Capabilities</th><th scope="col">Tags</th><th scope="col">Current job</th>
          <th scope="col">Last heartbeat</th><th scope="col">Failures</th><th scope="col">Blocked from</th></tr></thead>
        <tbody>${data.map((w) => html`<${Worker} key=${w.id} worker=${w} onChanged=${refresh} />`)}</tbody></table></div>`}
  </section>`;
}

// One order: its lines, each line's jobs (chunks too, when a line has several), the node graph
// of a job coloured by status with a node panel, the media, and cancel / retry, pause / resume,
// priority and delete (with a confirmation).
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { Estimate, OrderCosts } from './costs.js';
import { Graph } from './graph.js';
import { LineMedia } from './media.js';
import { age, badge, duration, ErrorBox, html, Loading, Progress, usePoll } from './ui.js';

const FINISHED = ['succeeded', 'failed', 'cancelled', 'partial'];

function NodePanel({ job, nodeId, onClose }) {
  const node = job.nodes[nodeId] || { status: 'pending' };
  const tail = job.logs.filter((l) => l.includes(`[${nodeId}]`)).slice(-20);
  return html`<aside class="panel" aria-label=${`node ${nodeId}`} data-panel=${nodeId}>
    <div class="titlebar"><h4>${nodeId} ${badge(node.status)}</h4><button class="link" onClick=${onClose}>Close</button></div>
    <dl>
      <dt>Step</dt><dd>${node.step || '—'}</dd>
      <dt>Duration</dt><dd>${duration(node.duration)}</dd>
      <dt>Attempts</dt><dd>${node.attempt ?? '—'}</dd>
      ${node.message && html`<dt>Message</dt><dd>${node.message}</dd>`}
      ${node.error && html`<dt>Error</dt><dd class="error-text">${node.error}</dd>`}
    </dl>
    <h5>Outputs</h5>
    ${node.outputs && node.outputs.length ? html`<ul>${node.outputs.map((o) => html`<li><code>${o.port}</code> ${o.kind}${o.role ? ` · ${o.role}` : ''}${o.file ? ` · ${o.file}` : ''}${o.files ? ` · ${o.files} files` : ''}</li>`)}</ul>`
      : html`<p class="muted">None recorded yet.</p>`}
    <h5>Log tail</h5>
    ${tail.length ? html`<pre class="log">${tail.join('\n')}</pre>` : html`<p class="muted">No log lines for this node.</p>`}
  </aside>`;
}

function jobProgress(job) {
  const states = Object.values(job.nodes);
  if (job.status === 'succeeded') return 1;
  if (!states.length) return 0;
  return states.reduce((sum, n) => sum + (n.status === 'succeeded' || n.status === 'skipped' ? 1 : n.fraction || 0), 0) / states.length;
}

function Line({ line, index }) {
  const [jobIndex, setJobIndex] = useState(null);
  const [selected, setSelected] = useState(null);
  const jobs = line.jobs || [];
  const shown = jobIndex ?? Math.max(0, jobs.findIndex((j) => j.status === 'running'));
  const job = jobs[shown];
  const waiting = line.job && line.job.waiting;
  return html`<article class="line" data-line=${line.id} aria-labelledby=${`line-${index}`}>
    <h3 id=${`line-${index}`}>${line.product} <span class="muted">· ${line.output_type}</span> ${line.job && badge(line.job.status)}</h3>
    ${waiting && html`<p class="waiting" role="status">Waiting: ${waiting}</p>`}
    ${line.pause && html`<p class="paused-by">Line paused by ${line.pause.by} ${age(line.pause.at)}</p>`}
    ${(line.tags || []).length > 0 && html`<p class="muted">Needs worker tags: ${line.tags.join(', ')}</p>`}
    ${line.chunks && line.chunks.total > 0 && html`<p>Chunks: ${line.chunks.done}/${line.chunks.total}
      <${Progress} value=${line.chunks.done / line.chunks.total} label=${`${line.id} chunks`} /></p>`}
    ${line.job && line.job.error && html`<p class="error-text">${line.job.error}</p>`}
    ${Object.keys(line.overrides || {}).length > 0 && html`<p class="muted">Overrides: <code>${JSON.stringify(line.overrides)}</code></p>`}
    ${jobs.length > 1 && html`<table class="jobs"><caption>Jobs</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col">Attempts</th><th scope="col">Worker</th></tr></thead>
      <tbody>${jobs.map((j, i) => html`<tr key=${j.id} class=${i === shown ? 'current' : ''}>
        <td><button class="link" onClick=${() => { setJobIndex(i); setSelected(null); }} aria-pressed=${String(i === shown)}>${j.id}</button>
          ${(j.kind || j.label) && html`<div class="muted">${[j.kind, j.label].filter(Boolean).join(' · ')}</div>`}</td>
        <td>${badge(j.status)}</td><td><${Progress} value=${jobProgress(j)} label=${`${j.id} progress`} /></td>
        <td>${j.attempts}</td><td>${j.worker_id || '—'}</td></tr>`)}</tbody></table>`}
    <${LineMedia} line=${line} />
    ${job && html`<p class="muted">Job <code>${job.id}</code> · ${job.mode} · attempts ${job.attempts}${job.worker_id ? ` · worker ${job.worker_id}` : ''}</p>
      <div class="graph-wrap"><${Graph} workflow=${line.workflow} nodes=${job.nodes} selected=${selected}
        onSelect=${(id) => setSelected(id === selected ? null : id)} label=${`graph of ${line.id}`} />
      ${selected && html`<${NodePanel} job=${job} nodeId=${selected} onClose=${() => setSelected(null)} />`}</div>`}
  </article>`;
}

function PriorityForm({ value, busy, onSet }) {
  const [text, setText] = useState(String(value));
  const submit = (e) => { e.preventDefault(); onSet(Number(text)); };
  return html`<form class="priority" data-priority=${value} onSubmit=${submit} novalidate>
    <label for="order-priority">Priority</label>
    <input id="order-priority" type="number" min="0" max="100" step="1" value=${text} onInput=${(e) => setText(e.target.value)} />
    <button type="submit" disabled=${busy}>Set priority</button>
  </form>`;
}

function ConfirmDelete({ data, busy, onDelete, onKeep }) {
  const live = !FINISHED.includes(data.status);
  return html`<div class="confirm" role="alertdialog" aria-labelledby="confirm-h">
    <p id="confirm-h"><strong>Delete order ${data.id}?</strong> ${live ? 'Its waiting and running jobs are cancelled first. ' : ''}Its
      media and the files no other order uses are removed for good; a short record of the deletion stays.</p>
    <button class="danger" onClick=${onDelete} disabled=${busy}>Delete for good</button>
    <button onClick=${onKeep} disabled=${busy}>Keep it</button>
  </div>`;
}

export function OrderPage({ id, signOut }) {
  const { data, error, refresh } = usePoll(`/api/dashboard/orders/${encodeURIComponent(id)}`, signOut);
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const act = async (fn) => {
    setBusy(true);
    setActionError(null);
    try { await fn(); } catch (e) { setActionError(e); } finally { setBusy(false); }
  };
  const [confirming, setConfirming] = useState(false);
  const path = `/api/orders/${encodeURIComponent(id)}`;
  const post = (suffix, body) => act(async () => { await api(`${path}${suffix}`, { method: 'POST', body }); await refresh(); });
  const cancel = () => post('/cancel');
  const remove = () => act(async () => { await api(`${path}?cancel=true`, { method: 'DELETE' }); location.hash = '#/orders'; });
  const retry = () => act(async () => {
    const lines = data.lines.map((l) => ({ output_type: l.output_type, product: l.product, step_sha256: l.step_sha256, overrides: l.overrides }));
    const order = await api('/api/orders', { method: 'POST', body: { lines } });
    location.hash = `#/orders/${order.id}`;
  });
  if (!data) return html`<section><h1>Order ${id}</h1>${error ? html`<${ErrorBox} error=${error} what="Order" />` : html`<${Loading} what="the order" />`}</section>`;
  const done = data.lines.reduce((n, l) => n + (l.job && FINISHED.includes(l.job.status) ? 1 : 0), 0);
  return html`<section aria-labelledby="order-h" data-order=${data.id} data-status=${data.status}>
    <p><a href="#/orders">← Orders</a></p>
    <div class="titlebar">
      <h1 id="order-h">Order ${data.id} ${badge(data.status)}</h1>
      <div class="actions">
        ${!FINISHED.includes(data.status) && (data.pause
          ? html`<button onClick=${() => post('/resume')} disabled=${busy}>Resume</button>`
          : html`<button onClick=${() => post('/pause')} disabled=${busy}>Pause</button>`)}
        ${!FINISHED.includes(data.status) && html`<button onClick=${cancel} disabled=${busy} class="danger">Cancel order</button>`}
        ${FINISHED.includes(data.status) && html`<button onClick=${retry} disabled=${busy}>Retry as a new order</button>`}
        <button onClick=${() => setConfirming(true)} disabled=${busy || confirming} class="danger">Delete order</button>
      </div>
    </div>
    ${confirming && html`<${ConfirmDelete} data=${data} busy=${busy} onDelete=${remove} onKeep=${() => setConfirming(false)} />`}
    ${data.pause && html`<p class="paused-by" role="status">Paused by ${data.pause.by} ${age(data.pause.at)}: its waiting jobs are not handed out.</p>`}
    ${!FINISHED.includes(data.status)
      ? html`<${PriorityForm} key=${data.priority} value=${data.priority} busy=${busy} onSet=${(n) => post('/priority', { priority: n })} />`
      : html`<p class="muted">Priority ${data.priority}</p>`}
    <p class="muted">Submitted ${age(data.created_at)}${data.finished_at ? ` · finished ${age(data.finished_at)}` : ''} · ${done}/${data.lines.length} lines done
      ${data.webhook && data.webhook.url ? ` · webhook ${data.webhook.status}` : ''}</p>
    <${Estimate} estimate=${data.estimate} />
    <${OrderCosts} order=${data} />
    <${ErrorBox} error=${error} what="Refreshing" />
    <${ErrorBox} error=${actionError} what="Action" />
    ${data.lines.map((line, i) => html`<${Line} key=${line.id} line=${line} index=${i} />`)}
  </section>`;
}

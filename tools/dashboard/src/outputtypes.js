// Output types (admin): mode legacy/shadow/graph with the parity summary of recent shadow
// runs, overrides edited with the same schema form (operator settings included), and the
// linked workflow read-only as a graph.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Graph } from './graph.js';
import { definitionsByKey, fieldErrors, SchemaForm } from './schemaform.js';
import { badge, ErrorBox, html, Loading } from './ui.js';

export function OutputTypesPage() {
  const [types, setTypes] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { api('/api/output-types').then(setTypes, setError); }, []);
  return html`<section aria-labelledby="ot-h">
    <h1 id="ot-h">Output types</h1>
    <${ErrorBox} error=${error} what="Output types" />
    ${!types ? (!error && html`<${Loading} what="output types" />`) : html`<table>
      <thead><tr><th scope="col">Name</th><th scope="col">Family</th><th scope="col">Delivers</th><th scope="col">Mode</th><th scope="col">Workflow</th></tr></thead>
      <tbody>${types.map((t) => html`<tr key=${t.name}><th scope="row"><a href=${`#/output-types/${encodeURIComponent(t.name)}`}>${t.name}</a></th>
        <td>${t.family}</td><td>${t.artifact_kind}</td><td>${badge(t.mode)}</td><td><code>${t.workflow_id}</code></td></tr>`)}</tbody></table>`}
  </section>`;
}

function Parity({ parity }) {
  if (!parity) return html`<${Loading} what="parity" />`;
  if (!parity.runs) return html`<p class="muted">No shadow runs yet: set the mode to shadow to compare legacy and graph outputs.</p>`;
  return html`<p>${parity.matched} of ${parity.runs} recent shadow runs matched; ${parity.mismatched} differed.
    ${parity.worst && html` Worst: ${parity.worst.role} ${parity.worst.metric} ${Number(parity.worst.score).toFixed(3)} (run <code>${parity.worst.run_id}</code>).`}</p>`;
}

export function OutputTypePage({ name }) {
  const [state, setState] = useState(null);
  const [overrides, setOverrides] = useState({});
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const load = async () => {
    const type = await api(`/api/output-types/${encodeURIComponent(name)}`);
    const [workflow, describe, parity] = await Promise.all([api(`/api/workflows/${encodeURIComponent(type.workflow_id)}`),
      api('/api/workflows/node-definitions'), api(`/api/output-types/${encodeURIComponent(name)}/parity?last=20`)]);
    setState({ type, workflow, definitions: definitionsByKey(describe), parity });
    setOverrides(type.overrides);
  };
  useEffect(() => { load().catch(setError); }, [name]);
  const run = async (what, fn) => {
    setBusy(true);
    setError(null);
    setSaved('');
    try { await fn(); await load(); setSaved(what); } catch (e) { setError(e); } finally { setBusy(false); }
  };
  if (!state) return html`<section><h1>${name}</h1>${error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} what="the output type" />`}</section>`;
  const { type, workflow, definitions, parity } = state;
  const graph = { nodes: workflow.nodes.map((n) => ({ id: n.id, step: n.step, position: n.ui && n.ui.position })), edges: workflow.edges };
  const setMode = (mode) => run(`mode set to ${mode}`, () => api(`/api/output-types/${encodeURIComponent(name)}/mode`, { method: 'POST', body: { mode } }));
  const save = (e) => {
    e.preventDefault();
    run('overrides saved', () => api(`/api/output-types/${encodeURIComponent(name)}`, { method: 'PUT', body: {
      family: type.family, artifact_kind: type.artifact_kind, workflow_id: type.workflow_id, overrides, mode: type.mode,
      legacy_fallback: type.legacy_fallback } }));
  };
  return html`<section aria-labelledby="ot-name">
    <p><a href="#/output-types">← Output types</a></p>
    <h1 id="ot-name">${type.name} ${badge(type.mode)}</h1>
    <p class="muted">${type.family} · delivers ${type.artifact_kind} · workflow <code>${type.workflow_id}</code> · legacy fallback ${type.legacy_fallback ? 'on' : 'off'}</p>
    ${saved && html`<p class="ok" role="status">Done: ${saved}.</p>`}
    <${ErrorBox} error=${error} />
    <h2>Mode</h2>
    <div class="segmented" role="group" aria-label="mode">${['legacy', 'shadow', 'graph'].map((m) => html`
      <button aria-pressed=${String(type.mode === m)} disabled=${busy || type.mode === m} onClick=${() => setMode(m)}>${m}</button>`)}</div>
    <h2>Parity of recent shadow runs</h2>
    <${Parity} parity=${parity} />
    <h2>Overrides</h2>
    <form onSubmit=${save} novalidate>
      <${SchemaForm} workflow=${workflow} definitions=${definitions} values=${overrides} onChange=${setOverrides} trust="all"
        errors=${error ? fieldErrors(error, workflow) : {}} />
      <button type="submit" class="primary" disabled=${busy}>Save overrides</button>
    </form>
    <h2>Workflow</h2>
    <${Graph} workflow=${graph} label=${`workflow ${type.workflow_id}`} />
  </section>`;
}

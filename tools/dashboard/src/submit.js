// A new order: drop STEP files, pick an output type, set overrides in the generated form,
// upload (with progress) and submit one order with a line per file. The server checks the
// overrides; its 422 is shown at the field it names.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, uploadFile } from './api.js';
import { definitionsByKey, fieldErrors, SchemaForm } from './schemaform.js';
import { bytes, ErrorBox, html, Loading, Progress } from './ui.js';

const STEP = /\.(step|stp)$/i;

function useOutputType(name) {
  const [state, setState] = useState(null);
  useEffect(() => {
    if (!name) return undefined;
    let live = true;
    setState(null);
    (async () => {
      const type = await api(`/api/output-types/${encodeURIComponent(name)}`);
      const workflow = await api(`/api/workflows/${encodeURIComponent(type.workflow_id)}`);
      if (live) setState({ type, workflow });
    })().catch((error) => live && setState({ error }));
    return () => { live = false; };
  }, [name]);
  return state;
}

function DropZone({ onFiles }) {
  const [over, setOver] = useState(false);
  const input = useRef(null);
  const take = (list) => onFiles([...list]);
  return html`<div class=${`dropzone${over ? ' over' : ''}`} data-testid="dropzone"
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); take(e.dataTransfer.files); }}>
    <p>Drop STEP files here, or</p>
    <button type="button" onClick=${() => input.current.click()}>Choose files…</button>
    <input ref=${input} type="file" multiple accept=".step,.stp" hidden onChange=${(e) => { take(e.target.files); e.target.value = ''; }} />
  </div>`;
}

export function SubmitPage() {
  const [types, setTypes] = useState(null);
  const [definitions, setDefinitions] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [outputType, setOutputType] = useState('');
  const [files, setFiles] = useState([]); // {file, progress, sha256, error}
  const [overrides, setOverrides] = useState({});
  const [priority, setPriority] = useState('50');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const chosen = useOutputType(outputType);
  useEffect(() => {
    Promise.all([api('/api/output-types'), api('/api/workflows/node-definitions')]).then(([t, d]) => {
      setTypes(t);
      setDefinitions(definitionsByKey(d));
      setOutputType((current) => current || (t.find((o) => o.name === 'still') || t[0] || {}).name || '');
    }, setLoadError);
  }, []);
  useEffect(() => { setOverrides({}); setError(null); }, [outputType]);
  const addFiles = (list) => {
    const steps = list.filter((f) => STEP.test(f.name));
    const skipped = list.filter((f) => !STEP.test(f.name)).map((f) => f.name);
    setError(skipped.length ? new Error(`not STEP files (.step, .stp), left out: ${skipped.join(', ')}`) : null);
    setFiles((current) => [...current, ...steps.map((file) => ({ file, progress: 0 }))]);
  };
  const update = (index, patch) => setFiles((current) => current.map((f, i) => (i === index ? { ...f, ...patch } : f)));
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const shas = [];
      for (const [index, entry] of files.entries()) {
        if (!entry.sha256) {
          const stored = await uploadFile(entry.file, (p) => update(index, { progress: p })).catch((e) => {
            update(index, { error: e.message });
            throw e;
          });
          update(index, { sha256: stored.sha256, progress: 1 });
          shas.push(stored.sha256);
        } else shas.push(entry.sha256);
      }
      const lines = files.map((entry, i) => ({ output_type: outputType, product: entry.file.name.replace(STEP, ''), step_sha256: shas[i], overrides }));
      const order = await api('/api/orders', { method: 'POST', body: { lines, priority: Number(priority) } });
      location.hash = `#/orders/${order.id}`;
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  if (loadError) return html`<section><h1>Submit</h1><${ErrorBox} error=${loadError} what="Loading output types" /></section>`;
  if (!types || !definitions) return html`<section><h1>Submit</h1><${Loading} what="output types" /></section>`;
  const errors = error ? fieldErrors(error, chosen && chosen.workflow) : {};
  return html`<section aria-labelledby="submit-h">
    <h1 id="submit-h">New order</h1>
    <form onSubmit=${submit} novalidate>
      <${DropZone} onFiles=${addFiles} />
      ${files.length > 0 ? html`<ul class="files" aria-label="files of this order">${files.map((f, i) => html`<li key=${i}>
          <span class="name">${f.file.name}</span> <span class="muted">${bytes(f.file.size)}</span>
          <${Progress} value=${f.progress} label=${`upload of ${f.file.name}`} />
          ${f.error ? html`<span class="error-text">${f.error}</span>` : f.sha256 ? html`<span class="muted">uploaded</span>` : ''}
          <button type="button" class="link" disabled=${busy} onClick=${() => setFiles(files.filter((_, j) => j !== i))} aria-label=${`remove ${f.file.name}`}>Remove</button>
        </li>`)}</ul>` : html`<p class="muted">No files yet: one order line per STEP file.</p>`}
      <label for="output-type">Output type</label>
      <select id="output-type" name="output_type" value=${outputType} onChange=${(e) => setOutputType(e.target.value)}>
        ${types.map((t) => html`<option value=${t.name}>${t.name} (${t.family}, ${t.mode})</option>`)}
      </select>
      <label for="priority">Priority <span class="muted">(0–100, higher is rendered first)</span></label>
      <input id="priority" name="priority" type="number" min="0" max="100" step="1" value=${priority}
        onInput=${(e) => setPriority(e.target.value)} />
      <h2>Overrides</h2>
      ${!chosen ? html`<${Loading} what="the workflow" />` : chosen.error ? html`<${ErrorBox} error=${chosen.error} what="Output type" />`
        : html`<${SchemaForm} workflow=${chosen.workflow} definitions=${definitions} values=${overrides} base=${chosen.type.overrides}
            onChange=${setOverrides} errors=${errors} open=${(n) => (definitions.get(n.step) || {}).family === 'render'} />`}
      <${ErrorBox} error=${error} what="Not submitted" />
      <button type="submit" class="primary" disabled=${busy || !files.length || !chosen || !!chosen.error}>
        ${busy ? 'Submitting…' : `Submit ${files.length || ''} line${files.length === 1 ? '' : 's'}`}</button>
    </form>
  </section>`;
}

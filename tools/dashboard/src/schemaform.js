// Override fields generated from the node definitions (GET /api/workflows/node-definitions):
// one fieldset per node of the workflow, its settings in the definition's field groups, with
// the schema's bounds, enums and defaults. `trust="order"` offers only what an order may set
// (operator-only settings belong to output types). Values: {node_id: {field: value}}.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './ui.js';

const SIMPLE = new Set(['string', 'integer', 'number', 'boolean']);

export function definitionsByKey(describe) {
  return new Map(describe.definitions.map((d) => [d.key, d]));
}

// The fields a node offers: [{group, fields: [{name, schema}]}] for simple-typed settings.
function nodeFields(definition, trust) {
  const props = definition.settings_schema.properties || {};
  const allowed = (name) => SIMPLE.has(props[name].type) && (trust !== 'order' || (definition.setting_trust || {})[name] === 'order');
  const groups = (definition.field_groups || []).map((g) => ({ label: g.label, fields: g.fields.filter((f) => props[f] && allowed(f)) }));
  const grouped = new Set(groups.flatMap((g) => g.fields));
  const rest = Object.keys(props).filter((f) => !grouped.has(f) && allowed(f));
  if (rest.length) groups.push({ label: 'Other', fields: rest });
  return groups.filter((g) => g.fields.length).map((g) => ({ ...g, fields: g.fields.map((name) => ({ name, schema: props[name] })) }));
}

function parse(schema, text) {
  if (text === '') return undefined;
  if (schema.type === 'integer' || schema.type === 'number') {
    const n = Number(text);
    return Number.isNaN(n) ? text : n; // a non-number goes to the server, which names it
  }
  if (schema.type === 'boolean') return text === 'true';
  return text;
}

function Field({ nodeId, name, schema, value, base, error, onChange }) {
  const id = `f-${nodeId}-${name}`;
  const shown = value === undefined ? '' : String(value);
  const hint = base === undefined ? schema.default : base;
  const set = (e) => onChange(parse(schema, e.target.value));
  const described = `${id}-hint${error ? ` ${id}-err` : ''}`;
  let input;
  if (schema.enum || schema.type === 'boolean') {
    const options = schema.enum || [true, false];
    input = html`<select id=${id} name=${`${nodeId}.${name}`} value=${shown} onChange=${set} aria-describedby=${described} aria-invalid=${error ? 'true' : undefined}>
      <option value="">default (${String(hint)})</option>${options.map((o) => html`<option value=${String(o)}>${String(o)}</option>`)}</select>`;
  } else if (schema.type === 'integer' || schema.type === 'number') {
    input = html`<input id=${id} name=${`${nodeId}.${name}`} type="number" inputmode="decimal" value=${shown} onInput=${set}
      min=${schema.minimum} max=${schema.maximum} step=${schema.type === 'integer' ? 1 : 'any'} placeholder=${String(hint ?? '')}
      aria-describedby=${described} aria-invalid=${error ? 'true' : undefined} />`;
  } else {
    input = html`<input id=${id} name=${`${nodeId}.${name}`} type="text" value=${shown} onInput=${set} maxlength=${schema.maxLength}
      placeholder=${String(hint ?? '')} aria-describedby=${described} aria-invalid=${error ? 'true' : undefined} />`;
  }
  const bounds = schema.minimum !== undefined || schema.maximum !== undefined ? ` · ${schema.minimum ?? '…'} to ${schema.maximum ?? '…'}` : '';
  return html`<div class=${`field${error ? ' invalid' : ''}`}>
    <label for=${id}>${schema.title || name}</label>${input}
    <small id=${`${id}-hint`} class="muted">${schema.description || ''}${bounds}</small>
    ${error && html`<small id=${`${id}-err`} class="error-text" role="alert">${error}</small>`}
  </div>`;
}

// Which fields a server refusal names, in its detail or its problems: "node 'still'
// (blender_still): setting 'samples'" (or "step '…'"), or a dotted "still.samples". Each named
// field gets the message that names it.
export function fieldErrors(error, workflow) {
  const errors = {};
  if (!error || !workflow) return errors;
  const idsOf = (key) => workflow.nodes.filter((n) => n.id === key || n.step === key).map((n) => n.id);
  const texts = [error.message, ...(error.problems || []).map((p) => p.message)].filter(Boolean);
  for (const text of texts) {
    for (const m of text.matchAll(/(?:node|step) '([^']+)'(?: \([^)]*\))?: setting '([^']+)'/g)) {
      for (const id of idsOf(m[1])) errors[`${id}.${m[2]}`] = text;
    }
    for (const m of text.matchAll(/\b([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)\b/g)) {
      for (const id of idsOf(m[1])) errors[`${id}.${m[2]}`] ||= text;
    }
  }
  return errors;
}

// A node's fieldset, folded. It opens itself once (when `initiallyOpen`) and whenever the
// server names one of its fields; otherwise the user's own folding is left alone.
function NodeSettings({ node, hasError, initiallyOpen, children }) {
  const ref = useRef(null);
  useEffect(() => { if (initiallyOpen) ref.current.open = true; }, []);
  useEffect(() => { if (hasError) ref.current.open = true; }, [hasError]);
  return html`<details ref=${ref} class="node-settings" data-node=${node.id}>${children}</details>`;
}

export function SchemaForm({ workflow, definitions, values, base = {}, onChange, trust = 'order', errors = {}, open }) {
  const nodes = workflow.nodes.map((n) => ({ node: n, groups: definitions.get(n.step) ? nodeFields(definitions.get(n.step), trust) : [] }))
    .filter((n) => n.groups.length);
  if (!nodes.length) return html`<p class="muted">This workflow has no settings an order may set.</p>`;
  return html`<div class="schema-form">${nodes.map(({ node, groups }) => {
    const mine = values[node.id] || {};
    const hasError = Object.keys(errors).some((k) => k.startsWith(`${node.id}.`));
    const set = (name) => (v) => {
      const next = { ...mine };
      if (v === undefined) delete next[name]; else next[name] = v;
      const all = { ...values, [node.id]: next };
      if (!Object.keys(next).length) delete all[node.id];
      onChange(all);
    };
    const baseOf = { ...(node.params || {}), ...(base[node.step] || {}), ...(base[node.id] || {}) };
    return html`<${NodeSettings} node=${node} hasError=${hasError} initiallyOpen=${!!(open && open(node))}>
      <summary>${node.id} <span class="muted">(${definitions.get(node.step).label})</span>${Object.keys(mine).length ? html` <span class="badge s-running">${Object.keys(mine).length} set</span>` : ''}</summary>
      ${groups.map((g) => html`<fieldset><legend>${g.label}</legend>
        ${g.fields.map((f) => html`<${Field} key=${f.name} nodeId=${node.id} name=${f.name} schema=${f.schema} value=${mine[f.name]}
          base=${baseOf[f.name]} error=${errors[`${node.id}.${f.name}`]} onChange=${set(f.name)} />`)}</fieldset>`)}
    </${NodeSettings}>`;
  })}</div>`;
}

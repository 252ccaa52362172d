// A workflow as a small read-only graph, top to bottom: each node in the row of its depth
// (longest path from an input), ordered within the row as the editor placed it; coloured by
// status; Enter, Space or a click selects a node.
import { html } from './ui.js';

const W = 150;
const H = 40;
const GAP_X = 20;
const GAP_Y = 30;

function layout(workflow) {
  const depth = new Map(workflow.nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < workflow.nodes.length; pass++) {
    let moved = false;
    for (const e of workflow.edges) {
      const d = (depth.get(e.source) ?? 0) + 1;
      if (depth.has(e.target) && d > depth.get(e.target)) { depth.set(e.target, d); moved = true; }
    }
    if (!moved) break;
  }
  const rows = [];
  for (const n of workflow.nodes) (rows[depth.get(n.id)] ||= []).push(n);
  const along = (n) => (Array.isArray(n.position) ? -n.position[1] : 0);
  const widest = Math.max(...rows.map((r) => (r ? r.length : 0)));
  const at = new Map();
  rows.forEach((row, d) => {
    if (!row) return;
    row.sort((a, b) => along(a) - along(b));
    const offset = ((widest - row.length) * (W + GAP_X)) / 2;
    row.forEach((n, i) => at.set(n.id, { x: offset + i * (W + GAP_X), y: d * (H + GAP_Y) }));
  });
  return at;
}

export function Graph({ workflow, nodes = {}, selected, onSelect, label }) {
  if (!workflow || workflow.nodes.length === 0) return html`<p class="muted">No graph.</p>`;
  const at = layout(workflow);
  const xs = [...at.values()].map((p) => p.x);
  const ys = [...at.values()].map((p) => p.y);
  const x0 = Math.min(...xs) - 10;
  const y0 = Math.min(...ys) - 10;
  const width = Math.max(...xs) - x0 + W + 10;
  const height = Math.max(...ys) - y0 + H + 10;
  const key = (e, id) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect && onSelect(id); } };
  return html`<svg class="graph" viewBox=${`${x0} ${y0} ${width} ${height}`} role="group" aria-label=${label || 'workflow graph'}
      style=${{ maxWidth: `${width}px` }}>
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
      <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" /></marker></defs>
    ${workflow.edges.map((e) => {
      const a = at.get(e.source);
      const b = at.get(e.target);
      if (!a || !b) return null;
      const sx = a.x + W / 2;
      const sy = a.y + H;
      const tx = b.x + W / 2;
      const ty = b.y;
      const my = (sy + ty) / 2;
      return html`<path class="edge" d=${`M ${sx} ${sy} C ${sx} ${my}, ${tx} ${my}, ${tx} ${ty}`} marker-end="url(#arrow)" />`;
    })}
    ${workflow.nodes.map((n) => {
      const p = at.get(n.id);
      const state = nodes[n.id] || {};
      const status = state.status || 'pending';
      return html`<g key=${n.id} class=${`node n-${status}${selected === n.id ? ' selected' : ''}`} transform=${`translate(${p.x} ${p.y})`}
          tabindex=${onSelect ? 0 : undefined} role=${onSelect ? 'button' : undefined} data-node=${n.id} data-status=${status}
          aria-label=${`${n.id} (${n.step}): ${status}`} aria-pressed=${onSelect ? String(selected === n.id) : undefined}
          onClick=${onSelect && (() => onSelect(n.id))} onKeyDown=${onSelect && ((e) => key(e, n.id))}>
        <rect width=${W} height=${H} rx="6" />
        ${status === 'running' && state.fraction != null && html`<rect class="bar" y=${H - 4} height="4" width=${W * state.fraction} />`}
        <text x="8" y="17" class="id">${n.id.length > 20 ? `${n.id.slice(0, 19)}…` : n.id}</text>
        <text x="8" y="32" class="step">${n.step.length > 24 ? `${n.step.slice(0, 23)}…` : n.step}</text>
      </g>`;
    })}
  </svg>`;
}

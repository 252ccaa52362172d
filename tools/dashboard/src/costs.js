// What an order cost in machine time (wall and CPU seconds per line, node and worker, summed
// over its runs), its estimate while it waits, and where each media file came from (provenance).
import { duration, html } from './ui.js';

const short = (sha) => (sha ? sha.slice(0, 12) : '—');

function CostTable({ caption, rows, name }) {
  if (!rows.length) return null;
  return html`<div class="scroll"><table class="costs"><caption>${caption}</caption>
    <thead><tr><th scope="col">${caption.replace('Per ', '')}</th><th scope="col">Runs</th><th scope="col">Wall</th><th scope="col">CPU</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr key=${JSON.stringify(r)}><td>${name(r)}</td><td>${r.runs}</td><td>${duration(r.wall_s)}</td><td>${duration(r.cpu_s)}</td></tr>`)}</tbody></table></div>`;
}

export function Estimate({ estimate }) {
  if (!estimate) return null;
  const { remaining_s: left, jobs_left: jobs, live_workers: workers, why } = estimate;
  return html`<p class="estimate" role="status">${left == null ? `Estimate: unknown (${why})`
    : `Estimated time left: ${duration(left)} (${jobs} job${jobs === 1 ? '' : 's'}, ${workers} live worker${workers === 1 ? '' : 's'}, from recent jobs)`}</p>`;
}

export function OrderCosts({ order }) {
  const stats = order.statistics;
  if (!stats || !stats.total.runs) return null;
  const products = Object.fromEntries(order.lines.map((l) => [l.id, `${l.product} · ${l.output_type}`]));
  return html`<details class="costs" open>
    <summary>Machine time: ${duration(stats.total.wall_s)} wall, ${duration(stats.total.cpu_s)} CPU in ${stats.total.runs} run${stats.total.runs === 1 ? '' : 's'}</summary>
    <div class="cost-tables">
      <${CostTable} caption="Per line" rows=${stats.lines} name=${(r) => products[r.line_id] || r.line_id} />
      <${CostTable} caption="Per node" rows=${stats.nodes} name=${(r) => html`${r.node_id} <span class="muted">${r.step || '?'}</span>`} />
      <${CostTable} caption="Per worker" rows=${stats.workers} name=${(r) => r.name} />
    </div></details>`;
}

export function Provenance({ record }) {
  if (!record) return null;
  const blender = record.blender;
  const render = record.render || {};
  return html`<details class="provenance"><summary>Provenance</summary><dl>
    <dt>Rendered by</dt><dd>${blender ? `Blender ${blender.version} (${blender.host}, build ${blender.build_hash})` : '—'}</dd>
    ${record.render && html`<dt>Render</dt><dd>${render.engine}${render.device ? ` on ${render.device}` : ''}${render.engine === 'CYCLES' ? `, denoiser ${render.denoiser || 'none'}, ${render.samples} samples` : ''}</dd>`}
    <dt>OCP / OCCT</dt><dd>${record.ocp ? `${record.ocp.version || '?'} / ${record.ocp.occt || '?'}` : '—'}</dd>
    <dt>HartOMat</dt><dd>${record.hartomat}</dd>
    <dt>Worker</dt><dd>${record.worker ? record.worker.name : '—'}</dd>
    <dt>Workflow</dt><dd><code title=${record.workflow_sha256}>${short(record.workflow_sha256)}</code></dd>
    <dt>Overrides</dt><dd><code title=${record.overrides_sha256}>${short(record.overrides_sha256)}</code></dd>
  </dl></details>`;
}

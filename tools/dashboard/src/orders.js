// The order list: server-side pages, filters by status and output type, polled with ETags.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { Thumb } from './media.js';
import { age, badge, ErrorBox, html, Loading, Progress, usePoll } from './ui.js';

const STATUSES = ['queued', 'running', 'paused', 'succeeded', 'failed', 'partial', 'cancelled'];
const PAGE = 25;

export function OrdersPage({ signOut }) {
  const [status, setStatus] = useState('');
  const [outputType, setOutputType] = useState('');
  const [offset, setOffset] = useState(0);
  const [types, setTypes] = useState([]);
  useEffect(() => { api('/api/output-types').then((t) => setTypes(t.map((o) => o.name)), () => {}); }, []);
  const query = new URLSearchParams({ limit: PAGE, offset, ...(status && { status }), ...(outputType && { output_type: outputType }) });
  const { data, error } = usePoll(`/api/dashboard/orders?${query}`, signOut);
  const filter = (set) => (e) => { set(e.target.value); setOffset(0); };
  return html`<section aria-labelledby="orders-h">
    <div class="titlebar"><h1 id="orders-h">Orders</h1><a class="button" href="#/submit">New order</a></div>
    <div class="filters">
      <label>Status <select value=${status} onChange=${filter(setStatus)} name="status">
        <option value="">all${data ? ` (${Object.values(data.counts).reduce((a, b) => a + b, 0)})` : ''}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s}${data ? ` (${data.counts[s]})` : ''}</option>`)}
      </select></label>
      <label>Output type <select value=${outputType} onChange=${filter(setOutputType)} name="output_type">
        <option value="">all</option>${types.map((t) => html`<option value=${t}>${t}</option>`)}
      </select></label>
    </div>
    <${ErrorBox} error=${error} what="Orders" />
    ${!data ? (!error && html`<${Loading} what="orders" />`) : data.orders.length === 0
      ? html`<p class="empty">${data.total === 0 && !status && !outputType ? html`No orders yet. <a href="#/submit">Submit one</a>.` : 'No orders match these filters.'}</p>`
      : html`<div class="scroll"><table class="orders">
        <thead><tr><th scope="col"><span class="sr">Thumbnail</span></th><th scope="col">Order</th><th scope="col">Status</th>
          <th scope="col">Progress</th><th scope="col" class="wide">Output types</th><th scope="col" class="wide">Age</th></tr></thead>
        <tbody>${data.orders.map((o) => html`<tr key=${o.id} data-order=${o.id} data-status=${o.status}>
          <td><${Thumb} assetId=${o.thumbnail} data=${o.thumbnail_data} alt=${`thumbnail of ${o.id}`} /></td>
          <td><a href=${`#/orders/${o.id}`}>${o.id}</a><div class="muted">${o.lines} line${o.lines === 1 ? '' : 's'}</div></td>
          <td>${badge(o.status)}</td>
          <td><${Progress} value=${o.jobs ? o.jobs_done / o.jobs : 0} label=${`${o.id} progress`} />
            <span class="muted">${o.jobs_done}/${o.jobs} jobs</span></td>
          <td class="wide">${o.output_types.join(', ')}</td>
          <td class="wide">${age(o.created_at)}</td></tr>`)}</tbody></table></div>
        <nav class="pager" aria-label="pages of orders">
          <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - PAGE))}>Newer</button>
          <span>${offset + 1}–${offset + data.orders.length} of ${data.total}</span>
          <button disabled=${offset + PAGE >= data.total} onClick=${() => setOffset(offset + PAGE)}>Older</button>
        </nav>`}
  </section>`;
}

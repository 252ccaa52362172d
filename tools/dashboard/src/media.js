// Media of an order line, fetched with the token and shown through blob: URLs: images, the
// turntable video, and downloads of everything (GLB, .blend, ...).
import { useEffect, useRef, useState } from 'preact/hooks';
import { assetBlob, assetUrl } from './api.js';
import { Provenance } from './costs.js';
import { bytes, html } from './ui.js';

function useAsset(assetId) {
  const [state, setState] = useState({ url: null, error: null });
  useEffect(() => {
    let live = true;
    if (assetId) assetUrl(assetId).then((url) => live && setState({ url, error: null }),
      (error) => live && setState({ url: null, error }));
    return () => { live = false; };
  }, [assetId]);
  return state;
}

export function Thumb({ assetId, data, alt }) {
  const { url } = useAsset(data ? null : assetId);
  if (data) return html`<img class="thumb" src=${data} alt=${alt} width="48" height="48" />`;
  if (!assetId) return html`<span class="thumb empty" aria-hidden="true"></span>`;
  return url ? html`<img class="thumb" src=${url} alt=${alt} width="48" height="48" />`
    : html`<span class="thumb empty" aria-hidden="true"></span>`;
}

const isImage = (a) => a.kind === 'image' || /\.(png|jpe?g|webp)$/i.test(a.name);
const isVideo = (a) => a.kind === 'video' || /\.(mp4|webm)$/i.test(a.name);

function Media({ asset }) {
  const { url, error } = useAsset(asset.id);
  if (error) return html`<p class="error">${asset.name}: ${error.message}</p>`;
  if (!url) return html`<p class="muted">Loading ${asset.name}…</p>`;
  if (isVideo(asset)) return html`<video class="media" src=${url} controls loop muted playsinline aria-label=${asset.name}></video>`;
  return html`<img class="media" src=${url} alt=${`${asset.role}: ${asset.name}`} />`;
}

function Download({ asset }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const save = async () => {
    setBusy(true);
    try {
      const a = document.createElement('a');
      a.href = await assetUrl(asset.id);
      a.download = asset.name;
      a.click();
    } catch (e) { setError(e); } finally { setBusy(false); }
  };
  return html`<li><button class="link" onClick=${save} disabled=${busy}>${asset.name}</button>
    <span class="muted"> ${asset.role} · ${bytes(asset.size)}</span>${error && html` <span class="error">${error.message}</span>`}</li>`;
}

export function LineMedia({ line }) {
  const shown = line.assets.filter((a) => (isImage(a) && a.role !== 'thumbnail') || isVideo(a));
  if (line.assets.length === 0) return html`<p class="muted">No media yet.</p>`;
  const models = line.assets.filter(isModel);
  return html`<div class="gallery">${shown.map((a) => html`<figure key=${a.id}><${Media} asset=${a} />
      <figcaption>${a.role}${a.is_primary ? ' (primary)' : ''}<${Provenance} record=${a.provenance} /></figcaption></figure>`)}</div>
    ${models.map((a) => html`<${ModelView} key=${a.id} asset=${a} />`)}
    <details><summary>Downloads (${line.assets.length})</summary>
      <ul class="downloads">${line.assets.map((a) => html`<${Download} key=${a.id} asset=${a} />`)}</ul></details>`;
}

let viewerScript = null;

// The 3D view bundle (three.js), added to the page the first time a model is opened.
function loadViewer() {
  viewerScript ||= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/static/glb.js';
    script.onload = () => resolve(window.HartomatGLB);
    script.onerror = () => { viewerScript = null; reject(new Error('cannot load the 3D viewer (/static/glb.js)')); };
    document.head.appendChild(script);
  });
  return viewerScript;
}

// The GLB of an asset: a .glb itself, or the one a threejs_render viewer page embeds.
async function glbOf(asset) {
  const blob = await assetBlob(asset.id);
  if (!isViewerPage(asset)) return blob.arrayBuffer();
  // engine/chromium/viewer.html: <script type="text/plain" id="hartomat-glb">BASE64</script>. Read as
  // text, not parsed as a page: its inline style would trip this page's CSP.
  const embedded = /<script[^>]*id="hartomat-glb"[^>]*>([^<]*)<\/script>/.exec(await blob.text());
  if (!embedded) throw new Error(`${asset.name} embeds no GLB`);
  return Uint8Array.from(atob(embedded[1].replace(/\s+/g, '')), (c) => c.charCodeAt(0)).buffer;
}

export const isModel = (a) => a.kind === 'glb' || /\.glb$/i.test(a.name) || isViewerPage(a);
const isViewerPage = (a) => a.kind === 'html_viewer' || /\.html?$/i.test(a.name);

export function ModelView({ asset }) {
  const box = useRef(null);
  const [state, setState] = useState({ open: false, status: '' });
  useEffect(() => {
    if (!state.open) return undefined;
    let view = null;
    let live = true;
    const fail = (message) => live && setState((s) => ({ ...s, status: 'error', message: String(message) }));
    Promise.all([loadViewer(), glbOf(asset)]).then(([viewer, glb]) => {
      if (!live) return;
      view = viewer.showGlb({
        container: box.current, glb, size: () => [box.current.clientWidth || 400, 360],
        config: { background: '#eef1f5', margin: 0.1, azimuth: 35, elevation: 25 },
        onReady: (stats) => live && setState((s) => ({ ...s, status: 'ready', stats })),
        onError: fail,
      });
    }, (e) => fail(e.message));
    const resize = () => view && view.resize();
    addEventListener('resize', resize);
    return () => { live = false; removeEventListener('resize', resize); if (view) view.dispose(); };
  }, [state.open, asset.id]);
  if (!state.open) return html`<button onClick=${() => setState({ open: true, status: 'loading' })}>View ${asset.name} in 3D</button>`;
  return html`<figure class="model" data-model=${asset.id} data-state=${state.status}>
    <div ref=${box} class="model-canvas" aria-label=${`3D view of ${asset.name}: drag to orbit, scroll to zoom`} role="img"></div>
    <figcaption>${state.status === 'loading' ? 'Loading the 3D view…' : state.status === 'error' ? html`<span class="error-text">${state.message}</span>`
      : state.stats ? `${asset.name}: ${state.stats.meshes} meshes, ${state.stats.triangles} triangles · drag to orbit ` : ''}
      <button class="link" onClick=${() => setState({ open: false, status: '' })}>Close</button></figcaption>
  </figure>`;
}

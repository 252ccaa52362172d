// Media of an order line, fetched with the token and shown through blob: URLs: images, the
// turntable video, and downloads of everything (GLB, .blend, ...).
import { useEffect, useState } from 'preact/hooks';
import { assetUrl } from './api.js';
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
  return html`<div class="gallery">${shown.map((a) => html`<figure key=${a.id}><${Media} asset=${a} />
      <figcaption>${a.role}${a.is_primary ? ' (primary)' : ''}</figcaption></figure>`)}</div>
    <details><summary>Downloads (${line.assets.length})</summary>
      <ul class="downloads">${line.assets.map((a) => html`<${Download} key=${a.id} asset=${a} />`)}</ul></details>`;
}

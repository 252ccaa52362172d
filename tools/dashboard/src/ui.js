// Small shared pieces: the html tag, polling with ETags, status badges, times, error boxes.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { poll } from './api.js';

export { html };

export const POLL_MS = 1500;

// Poll a view while the page is visible; a 304 keeps the data (no re-render).
// `onRefused` gets a 401 (the token was revoked) so the app can sign out.
export function usePoll(path, onRefused, interval = POLL_MS) {
  const [state, setState] = useState({ data: null, error: null });
  const last = useRef(null);
  useEffect(() => {
    let stopped = false;
    let timer = null;
    last.current = null;
    setState({ data: null, error: null });
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try {
          const fresh = await poll(path, last.current);
          if (!stopped && fresh) { last.current = fresh; setState({ data: fresh.data, error: null }); }
          else if (!stopped) setState((s) => (s.error ? { ...s, error: null } : s));
        } catch (error) {
          if (stopped) return;
          if (error.status === 401 && onRefused) { onRefused(error); return; }
          setState((s) => ({ ...s, error }));
        }
      }
      if (!stopped) timer = setTimeout(tick, interval);
    };
    tick();
    return () => { stopped = true; clearTimeout(timer); };
  }, [path]);
  const refresh = async () => {
    const fresh = await poll(path, null);
    if (fresh) { last.current = fresh; setState({ data: fresh.data, error: null }); }
  };
  return { ...state, refresh };
}

export const badge = (status) => html`<span class=${`badge s-${status || 'none'}`}>${status || '—'}</span>`;

export function age(seconds) {
  if (!seconds) return '—';
  const s = Math.max(0, Date.now() / 1000 - seconds);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const duration = (s) => (s == null ? '—' : s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);

export const bytes = (n) => (n == null ? '' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB`
  : `${(n / 1048576).toFixed(1)} MB`);

export function ErrorBox({ error, what }) {
  if (!error) return null;
  const problems = error.problems || [];
  return html`<div class="error" role="alert">
    <strong>${what ? `${what}: ` : ''}${error.message}</strong>
    ${problems.length > 0 && html`<ul>${problems.map((p) => html`<li>${p.field ? html`<code>${p.field}</code> ` : ''}${p.message}</li>`)}</ul>`}
  </div>`;
}

export const Loading = ({ what }) => html`<p class="muted" aria-busy="true">Loading ${what}…</p>`;

export function Progress({ value, label }) {
  const pct = Math.round(Math.max(0, Math.min(1, value || 0)) * 100);
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
    aria-valuenow=${pct} aria-label=${label || 'progress'}><div style=${{ width: `${pct}%` }}></div></div>`;
}

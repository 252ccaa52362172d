// The HartOMat farm dashboard: sign in with a token, then orders, submit, workers and output
// types, as the token's role allows. Routes live in the URL hash; the token never does.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, forgetMedia, session } from './api.js';
import { OrderPage } from './order.js';
import { OrdersPage } from './orders.js';
import { OutputTypePage, OutputTypesPage } from './outputtypes.js';
import { SubmitPage } from './submit.js';
import { ErrorBox, html } from './ui.js';
import { WorkersPage } from './workers.js';
import './app.css';

const PAGES = [
  { path: 'orders', label: 'Orders', roles: ['submit', 'admin'] },
  { path: 'submit', label: 'Submit', roles: ['submit', 'admin'] },
  { path: 'workers', label: 'Workers', roles: ['admin'] },
  { path: 'output-types', label: 'Output types', roles: ['admin'] },
];

function useRoute() {
  const read = () => (location.hash.replace(/^#\/?/, '') || 'orders').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSignedIn, reason }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(reason || null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    session.save(token.trim());
    try {
      onSignedIn(await api('/api/me'));
    } catch (e) {
      session.clear();
      setError(e.status === 401 ? new ApiError(401, 'token refused: unknown or revoked') : e);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="main">
    <h1>HartOMat farm</h1>
    <form onSubmit=${submit} aria-label="sign in">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required
        value=${token} onInput=${(e) => setToken(e.target.value)} placeholder="hm_submit_…" />
      <p class="muted">From <code>hartomat token create --role submit|admin</code>. Kept in this tab only.</p>
      <button type="submit" disabled=${busy || !token.trim()}>Sign in</button>
      <${ErrorBox} error=${error} what="Sign in" />
    </form>
  </main>`;
}

function Refused({ who, page }) {
  return html`<section class="refused" role="alert">
    <h1>Not allowed</h1>
    <p>The ${page.label} page needs an ${page.roles.join(' or ')} token; this is a <strong>${who.role}</strong> token.</p>
  </section>`;
}

function Page({ route, who, signOut }) {
  const [name, arg] = route;
  const page = PAGES.find((p) => p.path === name);
  if (!page) return html`<section><h1>Not found</h1><p>No page <code>${name}</code>. <a href="#/orders">Orders</a></p></section>`;
  if (!page.roles.includes(who.role)) return html`<${Refused} who=${who} page=${page} />`;
  const props = { who, signOut };
  if (name === 'orders') return arg ? html`<${OrderPage} id=${arg} ...${props} />` : html`<${OrdersPage} ...${props} />`;
  if (name === 'submit') return html`<${SubmitPage} ...${props} />`;
  if (name === 'workers') return html`<${WorkersPage} ...${props} />`;
  return arg ? html`<${OutputTypePage} name=${arg} ...${props} />` : html`<${OutputTypesPage} ...${props} />`;
}

function App() {
  const route = useRoute();
  const [who, setWho] = useState(null);
  const [checking, setChecking] = useState(!!session.token());
  const [reason, setReason] = useState(null);
  const signOut = (why) => {
    session.clear();
    forgetMedia();
    setWho(null);
    setReason(why instanceof ApiError ? new ApiError(401, `signed out: ${why.message}`) : null);
  };
  useEffect(() => {
    if (!session.token()) return;
    api('/api/me').then(setWho, (e) => {
      if (e.status === 401) signOut(e); else setReason(e);
    }).finally(() => setChecking(false));
  }, []);
  if (checking) return html`<p class="muted">Checking the token…</p>`;
  if (!who) return html`<${SignIn} onSignedIn=${(w) => { setReason(null); setWho(w); }} reason=${reason} />`;
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header>
      <span class="brand">HartOMat</span>
      <nav aria-label="pages">
        ${PAGES.filter((p) => p.roles.includes(who.role)).map((p) => html`
          <a href=${`#/${p.path}`} aria-current=${route[0] === p.path ? 'page' : undefined}>${p.label}</a>`)}
      </nav>
      <span class="who">${who.name} · <span class="role">${who.role}</span></span>
      <button class="link" onClick=${() => signOut()}>Sign out</button>
    </header>
    <main id="main" tabindex="-1">
      ${who.role === 'worker'
        ? html`<section role="alert"><h1>Worker token</h1><p>A worker token only claims and reports jobs; sign in with a submit or admin token.</p></section>`
        : html`<${Page} route=${route} who=${who} signOut=${signOut} />`}
    </main>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the static "Loading" line
render(html`<${App} />`, root);

// The dashboard in real headless Chromium, against a real `hartomat serve` and a real worker
// (started by tests/test_dashboard.py, which passes everything in HARTOMAT_E2E as JSON):
// sign in; submit two STEP files through the drop zone with an override (a bad value first,
// refused at its field with the server's message); a second order paused, reprioritised, resumed
// and cancelled; a third deleted after a confirmation; the first order
// watched to `succeeded` without a reload; the still and the node graph opened; admin pages
// refused to a submit token; a blocked worker unblocked as admin. Any page error, console
// error or 5xx answer fails the run. Prints one JSON line of findings at the end.
import { readFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.env.HARTOMAT_E2E);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const problems = [];
const findings = { screenshots: [], refusals: [] };
const step = (what) => console.log(`[e2e] ${what}`);
mkdirSync(cfg.shots, { recursive: true });

function watch(page, label) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every 4xx fetch as "Failed to load resource"; those the test provokes on
    // purpose (a refused token, a refused override) are checked where they happen.
    const expected = /Failed to load resource: the server responded with a status of (401|403|422)/.test(m.text());
    if (!expected) problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`${label}: ${r.status()} from ${r.url()}`); });
  page.on('requestfailed', (r) => {
    const aborted = (r.failure() || {}).errorText === 'net::ERR_ABORTED';
    if (!aborted) problems.push(`${label}: request failed: ${r.url()} ${(r.failure() || {}).errorText}`);
  });
}

async function shot(page, name, fullPage = false) {
  const path = join(cfg.shots, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage });
  findings.screenshots.push(path);
}

async function api(method, path, token, body) {
  const res = await fetch(`${cfg.url}${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function signIn(page, token) {
  await page.goto(cfg.url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// Drop files on the drop zone as a user's drag and drop does: a DataTransfer of Files.
async function dropFiles(page, paths) {
  const files = paths.map((p) => ({ name: basename(p), data: readFileSync(p).toString('base64') }));
  const transfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: 'application/octet-stream' }));
    }
    return dt;
  }, files);
  const zone = page.getByTestId('dropzone');
  await zone.dispatchEvent('dragover', { dataTransfer: transfer });
  await zone.dispatchEvent('drop', { dataTransfer: transfer });
}

async function setTinyOverrides(page, samples) {
  const still = page.locator('details[data-node="still"]');
  await still.locator('input[name="still.resolution_x"]').fill(String(cfg.size));
  await still.locator('input[name="still.resolution_y"]').fill(String(cfg.size));
  await still.locator('input[name="still.samples"]').fill(String(samples));
}

const orderIdOf = (page) => page.locator('section[data-order]').getAttribute('data-order');

async function main() {
  const browser = await chromium.launch({ executablePath: cfg.chromium, args: ['--no-sandbox', '--enable-unsafe-swiftshader'] });
  try {
    // --- a submitter -------------------------------------------------------------------------
    const submitter = await browser.newContext({ viewport: DESKTOP });
    const page = await submitter.newPage();
    watch(page, 'submitter');
    await page.goto(cfg.url);
    await page.getByLabel('API token').fill('hm_submit_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'token refused' }).waitFor();
    await shot(page, 'signin');
    step('a wrong token is refused at sign in');
    await page.getByLabel('API token').fill(cfg.tokens.submit);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Orders' }).waitFor();
    await page.getByText('No orders yet').waitFor();
    const stored = await page.evaluate(() => ({ token: sessionStorage.getItem('hartomat.token'), url: location.href }));
    if (stored.url.includes(cfg.tokens.submit)) problems.push('the token is in the URL');
    step('signed in with the submit token');

    await page.getByRole('link', { name: 'New order' }).click();
    await page.getByRole('heading', { name: 'New order' }).waitFor();
    await dropFiles(page, cfg.steps);
    for (const p of cfg.steps) await page.getByText(basename(p), { exact: true }).waitFor();
    await page.getByLabel('Output type', { exact: true }).selectOption('still_with_exports');
    await page.locator('details[data-node="still"] input[name="still.samples"]').waitFor();
    const operatorFields = await page.locator('input[name="setup.work_subdir"], input[name="step.library_dir"]').count();
    if (operatorFields) problems.push('the submit form offers operator-only settings');
    await setTinyOverrides(page, 0); // below the schema's minimum: the server refuses it
    await page.getByRole('button', { name: /^Submit 2 lines/ }).click();
    const fieldError = page.locator('details[data-node="still"] .field.invalid .error-text');
    await fieldError.waitFor();
    findings.refusals.push(await fieldError.textContent());
    await shot(page, 'submit-refused');
    step(`the server's 422 is shown at the field: ${findings.refusals[0]}`);
    await setTinyOverrides(page, 1);
    const viewerSettings = page.locator('details[data-node="viewer"]');
    if ((await viewerSettings.getAttribute('open')) === null) await viewerSettings.locator('> summary').click();
    await page.locator('select[name="viewer.snapshot"]').selectOption('false'); // the page, no PNG of it
    await page.getByRole('button', { name: /^Submit 2 lines/ }).click();
    await page.locator('section[data-order]').waitFor();
    const first = await orderIdOf(page);
    step(`order ${first} submitted with two lines`);

    // A second order, queued behind the first on the one worker (a priority of 101 refused
    // first, then 20), paused, reprioritised and resumed on its page, then cancelled.
    await page.getByRole('link', { name: 'Submit' }).click();
    await dropFiles(page, [cfg.steps[0]]);
    await setTinyOverrides(page, 1);
    await page.getByLabel(/^Priority/).fill('101');
    await page.getByRole('button', { name: /^Submit 1 line/ }).click();
    const priorityError = page.getByRole('alert').filter({ hasText: 'priority' });
    await priorityError.waitFor();
    findings.refusals.push(await priorityError.innerText());
    await page.getByLabel(/^Priority/).fill('20');
    await page.getByRole('button', { name: /^Submit 1 line/ }).click();
    await page.locator(`section[data-order]:not([data-order="${first}"])`).waitFor();
    const second = await orderIdOf(page);
    findings.estimate = await page.locator('p.estimate').innerText(); // queued behind the first: no history yet
    findings.priority = [(await api('GET', `/api/orders/${second}`, cfg.tokens.submit)).body.priority];
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.locator(`section[data-order="${second}"][data-status="paused"]`).waitFor();
    findings.paused = await page.locator('section[data-order] > .paused-by').innerText();
    await page.getByLabel('Priority', { exact: true }).fill('40');
    await page.getByRole('button', { name: 'Set priority' }).click();
    await page.locator('form.priority[data-priority="40"]').waitFor();
    findings.priority.push((await api('GET', `/api/orders/${second}`, cfg.tokens.submit)).body.priority);
    await shot(page, 'order-paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.locator(`section[data-order="${second}"]:not([data-status="paused"])`).waitFor();
    step(`order ${second}: priority ${findings.priority.join(' -> ')}, paused (${findings.paused}) and resumed`);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.locator(`section[data-order="${second}"][data-status="cancelled"]`).waitFor({ timeout: 120_000 });
    step(`order ${second} cancelled`);
    await page.getByRole('button', { name: 'Retry as a new order' }).click();
    await page.locator(`section[data-order]:not([data-order="${second}"]):not([data-order="${first}"])`).waitFor();
    const third = await orderIdOf(page);
    const retried = (await api('GET', `/api/orders/${third}`, cfg.tokens.submit)).body;
    findings.retry = retried.lines.map((l) => [l.product, l.output_type, l.overrides]);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await page.locator(`section[data-order="${third}"][data-status="cancelled"]`).waitFor({ timeout: 120_000 });
    step(`order ${second} retried as ${third}, which was cancelled too`);
    await page.getByRole('button', { name: 'Delete order' }).click();
    await page.getByRole('alertdialog').waitFor();
    await shot(page, 'order-delete');
    await page.getByRole('button', { name: 'Delete for good' }).click();
    await page.getByRole('heading', { name: 'Orders' }).waitFor();
    const gone = await api('GET', `/api/orders/${third}`, cfg.tokens.submit);
    findings.deleted = [gone.status, gone.body.detail];
    step(`order ${third} deleted after a confirmation: ${gone.body.detail}`);

    // The first order, watched without a reload until it succeeds.
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.locator(`tr[data-order="${first}"]`).waitFor();
    await page.evaluate(() => { window.__noReload = true; });
    await page.locator(`tr[data-order="${first}"] a`).click();
    await page.locator(`section[data-order="${first}"] .graph .node[data-status="running"], section[data-order="${first}"][data-status="succeeded"]`)
      .first().waitFor({ timeout: cfg.timeout_ms });
    await shot(page, 'order-running');
    await page.locator(`section[data-order="${first}"][data-status="succeeded"]`).waitFor({ timeout: cfg.timeout_ms });
    if (!(await page.evaluate(() => window.__noReload === true))) problems.push('the page reloaded while watching');
    step(`order ${first} succeeded without a reload`);

    const line = page.locator('article.line').first();
    const still = line.locator('img.media').first();
    await still.waitFor();
    await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await still.elementHandle());
    findings.still = await still.evaluate((img) => ({ width: img.naturalWidth, height: img.naturalHeight }));
    const node = line.locator('.graph .node[data-node="still"]');
    findings.still_node_status = await node.getAttribute('data-status');
    await node.focus();
    await page.keyboard.press('Enter'); // keyboard, not only the mouse
    const panel = line.locator('aside[data-panel="still"]');
    await panel.waitFor();
    findings.panel = await panel.innerText();
    const provenance = line.locator('figure details.provenance').first();
    await provenance.locator('summary').click();
    findings.provenance = await provenance.innerText();
    const costs = page.locator('details.costs');
    findings.costs = await costs.innerText();
    step(`machine time and provenance are shown: ${findings.costs.split('\n')[0]}`);
    await line.getByRole('button', { name: /in 3D$/ }).click();
    const model = line.locator('figure.model');
    await model.locator('[data-state="ready"], [data-state="error"]').or(line.locator('figure.model[data-state="ready"], figure.model[data-state="error"]')).first().waitFor({ timeout: 60_000 });
    findings.model = { state: await model.getAttribute('data-state'), caption: await model.locator('figcaption').innerText() };
    if (findings.model.state !== 'ready') problems.push(`3D view: ${findings.model.caption}`);
    await shot(page, 'order', true);
    step(`the still, the node panel and the 3D view are shown (${findings.model.caption})`);
    await page.setViewportSize(PHONE);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'order-phone');
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.locator(`tr[data-order="${first}"] img.thumb`).waitFor();
    await shot(page, 'orders-phone');
    await page.setViewportSize(DESKTOP);
    await shot(page, 'orders');

    // Admin pages refused to the submit token: in the app, and by the server.
    await page.goto(`${cfg.url}/#/workers`);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await shot(page, 'refused');
    const refused = await api('GET', '/api/workers', cfg.tokens.submit);
    if (refused.status !== 403) problems.push(`GET /api/workers with a submit token answered ${refused.status}`);
    findings.refusals.push(refused.body.detail);
    step('admin pages refused to the submit token');
    await submitter.close();

    // --- a worker blocked from an output type, unblocked by an admin --------------------------
    const blocked = await blockWorker();
    const admin = await browser.newContext({ viewport: DESKTOP });
    const adminPage = await admin.newPage();
    watch(adminPage, 'admin');
    await signIn(adminPage, cfg.tokens.admin);
    await adminPage.getByRole('link', { name: 'Workers' }).click();
    const row = adminPage.locator(`tr[data-worker="${blocked}"]`);
    await row.getByRole('button', { name: `unblock ${blocked}` }).waitFor();
    findings.worker_tags = await adminPage.locator('tr[data-worker="w-dash"] td[data-tags]').innerText();
    await shot(adminPage, 'workers');
    await row.getByRole('button', { name: `unblock ${blocked}` }).click();
    await row.getByRole('button', { name: `unblock ${blocked}` }).waitFor({ state: 'detached' });
    const after = (await api('GET', '/api/workers', cfg.tokens.admin)).body.find((w) => w.name === blocked);
    findings.blocked_after = after.blocked_output_types;
    findings.statuses = (await api('GET', '/api/dashboard/orders?limit=10', cfg.tokens.admin)).body.orders.map((o) => o.status);
    step(`worker ${blocked} unblocked`);
    await adminPage.getByRole('link', { name: 'Output types' }).click();
    await adminPage.getByRole('link', { name: 'still', exact: true }).click();
    await adminPage.locator('svg.graph .node').first().waitFor();
    await shot(adminPage, 'output-type');
    await adminPage.getByRole('button', { name: 'shadow', exact: true }).click();
    await adminPage.getByRole('status').filter({ hasText: 'mode set to shadow' }).waitFor();
    await adminPage.getByRole('button', { name: 'graph', exact: true }).click();
    await adminPage.getByRole('status').filter({ hasText: 'mode set to graph' }).waitFor();
    await adminPage.locator('details[data-node="still"] > summary').click();
    const samples = adminPage.locator('input[name="still.samples"]');
    await samples.fill('0');
    await adminPage.getByRole('button', { name: 'Save overrides' }).click();
    await adminPage.locator('details[data-node="still"] .field.invalid .error-text').waitFor();
    await samples.fill('2');
    await adminPage.getByRole('button', { name: 'Save overrides' }).click();
    await adminPage.getByRole('status').filter({ hasText: 'overrides saved' }).waitFor();
    const saved = (await api('GET', '/api/output-types/still', cfg.tokens.admin)).body;
    findings.output_type = { mode: saved.mode, overrides: saved.overrides,
      modes: saved.mode_history.map((h) => h.new_mode) };
    step(`output type still: mode shadow and back, overrides saved ${JSON.stringify(saved.overrides)}`);
    await admin.close();

    // A token revoked while its page is open: the next poll signs the page out and says why.
    const later = await browser.newContext({ viewport: DESKTOP });
    const laterPage = await later.newPage();
    watch(laterPage, 'revoked');
    await signIn(laterPage, cfg.tokens.submit);
    await laterPage.locator('tr[data-order]').first().waitFor();
    const tokens = (await api('GET', '/api/tokens', cfg.tokens.admin)).body;
    const submitToken = tokens.find((t) => t.role === 'submit' && !t.revoked);
    await api('POST', `/api/tokens/${submitToken.id}/revoke`, cfg.tokens.admin);
    const notice = laterPage.getByRole('alert').filter({ hasText: 'signed out' });
    await notice.waitFor();
    findings.revoked = await notice.innerText();
    findings.token_left = await laterPage.evaluate(() => sessionStorage.getItem('hartomat.token'));
    step(`a revoked token signs the page out: ${findings.revoked}`);
    await later.close();

    // The server goes away under an open page: it says so (failed polls are expected here, so
    // only page errors count).
    const last = await browser.newContext({ viewport: DESKTOP });
    const lastPage = await last.newPage();
    lastPage.on('pageerror', (e) => problems.push(`server down: page error: ${e.message}`));
    await signIn(lastPage, cfg.tokens.admin);
    await lastPage.locator('tr[data-order]').first().waitFor();
    process.kill(cfg.server_pid, 'SIGTERM');
    const down = lastPage.getByRole('alert').filter({ hasText: 'does not answer' });
    await down.waitFor();
    findings.server_down = await down.innerText();
    await shot(lastPage, 'server-down');
    step(`the server stopped: ${findings.server_down}`);
    await last.close();
  } catch (error) {
    const pages = browser.contexts().flatMap((c) => c.pages());
    for (const [i, p] of pages.entries()) await p.screenshot({ path: join(cfg.failure_shots, `failure-${i}.png`) }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
}

// Three lines fail on the one worker, which is then blocked from the output type (its third
// failure in a row). They fail the way a worker does (a node past its timeout): a failure on the
// order's input (a broken STEP file) fails the line at once and never blocks a worker.
// Returns the worker's name.
async function blockWorker() {
  const { admin, submit } = cfg.tokens;
  const still = (await api('GET', '/api/output-types/still', admin)).body;
  const doc = (await api('GET', `/api/workflows/${still.workflow_id}`, admin)).body;
  doc.name = 'fragile';
  doc.nodes = doc.nodes.map((n) => (n.id === 'step' ? { ...n, policy: { ...(n.policy || {}), timeout_s: 0.000001 } } : n));
  const saved = await api('POST', '/api/workflows', admin, doc);
  if (saved.status !== 201) throw new Error(`workflow fragile: ${saved.status} ${JSON.stringify(saved.body)}`);
  const made = await api('PUT', '/api/output-types/fragile', admin, {
    family: still.family, artifact_kind: still.artifact_kind, workflow_id: saved.body.id, legacy_fallback: false });
  if (made.status !== 200) throw new Error(`output type fragile: ${made.status} ${JSON.stringify(made.body)}`);
  const data = readFileSync(cfg.broken);
  const sha = (await import('node:crypto')).createHash('sha256').update(data).digest('hex');
  const up = await fetch(`${cfg.url}/api/files`, { method: 'POST', body: data,
    headers: { Authorization: `Bearer ${submit}`, 'X-Sha256': sha, 'X-Filename': 'broken.step' } });
  if (!up.ok) throw new Error(`upload: ${up.status}`);
  const lines = [1, 2, 3].map((i) => ({ output_type: 'fragile', product: `broken-${i}`, step_sha256: sha }));
  const order = await api('POST', '/api/orders', submit, { lines });
  if (order.status !== 201) throw new Error(`order: ${order.status} ${JSON.stringify(order.body)}`);
  const deadline = Date.now() + cfg.timeout_ms;
  while (Date.now() < deadline) {
    const workers = (await api('GET', '/api/workers', admin)).body;
    const hit = workers.find((w) => w.blocked_output_types.includes('fragile'));
    if (hit) { step(`worker ${hit.name} blocked from fragile`); return hit.name; }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('no worker was blocked from fragile in time');
}

main().then(() => {
  console.log(JSON.stringify({ problems, findings }));
  process.exit(problems.length ? 1 : 0);
}, (error) => {
  console.log(JSON.stringify({ problems: [...problems, `failed: ${error.stack || error}`], findings }));
  process.exit(1);
});

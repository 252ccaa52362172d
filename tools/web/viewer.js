// The HartOMat three.js viewer: reads the GLB embedded in the page (base64), frames it on its
// bounding box, lights it and renders. It publishes its state on window.__hartomat so a headless
// browser can wait for the first frame ({ready: true}) and collect errors ({errors: [...]}).
import { showGlb } from './scene.js';

const state = { ready: false, errors: [], stats: null, timings_ms: {} };
const t0 = performance.now();
const mark = (name) => { state.timings_ms[name] = Math.round(performance.now() - t0); };
window.__hartomat = state;

function fail(message) {
  state.errors.push(String(message));
  document.documentElement.dataset.state = 'error';
  const box = document.getElementById('hartomat-error');
  if (box) { box.textContent = state.errors.join('\n'); box.hidden = false; }
}
window.addEventListener('error', (event) => fail(event.message || event.error));
window.addEventListener('unhandledrejection', (event) => fail(event.reason && event.reason.message ? event.reason.message : event.reason));

function readJson(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

function decodeBase64(text) {
  const binary = atob(text.replace(/\s+/g, ''));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function viewportSize(config) {
  const width = window.innerWidth || config.width;
  const height = window.innerHeight || config.height;
  return [width, height];
}

function start() {
  const config = readJson('hartomat-config');
  const view = showGlb({
    container: document.getElementById('hartomat-viewer'),
    glb: decodeBase64(document.getElementById('hartomat-glb').textContent),
    config,
    size: () => viewportSize(config),
    mark,
    onError: fail,
    onReady(stats) {
      state.stats = stats;
      if (state.errors.length === 0) {
        mark('ready');
        state.ready = true;
        document.documentElement.dataset.state = 'ready';
      }
    },
  });
  window.addEventListener('resize', () => view.resize());
}

try { start(); } catch (error) { fail(error && error.message ? error.message : error); }

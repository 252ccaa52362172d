// Talking to the farm API: the token lives in sessionStorage (never in a URL), every call
// sends it as a bearer header, and every refusal becomes an ApiError with the server's
// {detail, problems}. Media is fetched the same way and shown through blob: URLs.
import { sha256Hex } from './sha256.js';

const KEY = 'hartomat.token';

export const session = {
  token: () => sessionStorage.getItem(KEY) || '',
  save: (token) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, detail, problems = []) {
    super(detail);
    this.status = status;
    this.problems = problems;
  }
}

const UNREACHABLE = 'the server does not answer: is hartomat serve running?';

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.token()}`, ...extra };
}

async function refusal(res) {
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON: use the status line */ }
  return new ApiError(res.status, (body && body.detail) || `${res.status} ${res.statusText}`,
    (body && body.problems) || []);
}

// A JSON call; `body` is sent as JSON. Resolves to the parsed answer, rejects with ApiError.
export async function api(path, { method = 'GET', body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (_) {
    throw new ApiError(0, UNREACHABLE);
  }
  if (!res.ok) throw await refusal(res);
  return res.status === 204 ? null : res.json();
}

// A polled view: sends the last ETag, so an unchanged answer is a bodiless 304 (null here).
export async function poll(path, last) {
  let res;
  try {
    res = await fetch(path, { headers: headers(last && last.etag ? { 'If-None-Match': last.etag } : {}) });
  } catch (_) {
    throw new ApiError(0, UNREACHABLE);
  }
  if (res.status === 304) return null;
  if (!res.ok) throw await refusal(res);
  return { etag: res.headers.get('ETag'), data: await res.json() };
}

const blobs = new Map();

// A stored asset as {blob, url} (a blob: URL), fetched once per asset id (assets never change).
function asset(assetId) {
  if (!blobs.has(assetId)) {
    const pending = fetch(`/api/assets/${encodeURIComponent(assetId)}`, { headers: headers() })
      .then(async (res) => {
        if (!res.ok) throw await refusal(res);
        const blob = await res.blob();
        return { blob, url: URL.createObjectURL(blob) };
      });
    pending.catch(() => blobs.delete(assetId));
    blobs.set(assetId, pending);
  }
  return blobs.get(assetId);
}

export const assetUrl = (assetId) => asset(assetId).then((a) => a.url);
export const assetBlob = (assetId) => asset(assetId).then((a) => a.blob);

export function forgetMedia() {
  for (const pending of blobs.values()) pending.then((a) => URL.revokeObjectURL(a.url), () => {});
  blobs.clear();
}

// Upload one file (POST /api/files) with progress; resolves to {sha256, size}.
export async function uploadFile(file, onProgress) {
  const sha = await sha256Hex(await file.arrayBuffer());
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/files');
    xhr.setRequestHeader('Authorization', `Bearer ${session.token()}`);
    xhr.setRequestHeader('X-Sha256', sha);
    xhr.setRequestHeader('X-Filename', file.name.replace(/[^\x20-\x7e]/g, '_'));
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* keep null */ }
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(body); }
      else reject(new ApiError(xhr.status, (body && body.detail) || `upload refused (${xhr.status})`,
        (body && body.problems) || []));
    };
    xhr.onerror = () => reject(new ApiError(0, UNREACHABLE));
    xhr.send(file);
  });
}

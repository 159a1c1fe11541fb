// api.js - the console's only way to the server: fetch against the same
// origin, the session cookie sent by the browser, the CSRF token on every
// change, problems (RFC 9457) turned into errors that carry their fields.
import { lang } from './i18n.js';

let csrf = '';

export function setCsrf(token) { csrf = token || ''; }

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem || {};
  }
  // Errors about one field, when the server named them: {field: message}.
  fields() {
    const out = {};
    const list = this.problem.errors || this.problem.diagnostics || [];
    if (Array.isArray(list)) {
      for (const e of list) {
        if (e && typeof e === 'object' && e.field) out[e.field] = e.message || e.msg || '';
      }
    }
    if (this.problem.field) out[this.problem.field] = this.problem.detail || '';
    return out;
  }
}

async function request(method, path, body, opts = {}) {
  const headers = { 'Accept-Language': lang() === 'en' ? 'en' : 'ja' };
  let payload;
  if (body !== undefined && body !== null) {
    if (opts.contentType) {
      headers['Content-Type'] = opts.contentType;
      payload = body;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  if (opts.ifMatch !== undefined) headers['If-Match'] = String(opts.ifMatch);
  if (opts.accept) headers['Accept'] = opts.accept;
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  const ct = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    let problem = null;
    if (ct.includes('json')) {
      try { problem = await res.json(); } catch (e) { problem = null; }
    }
    throw new ApiError(res.status, problem);
  }
  if (opts.raw) return res;
  if (ct.includes('json')) return res.json();
  return res.text();
}

export const api = {
  get: (p, o) => request('GET', p, null, o),
  post: (p, b, o) => request('POST', p, b === undefined ? {} : b, o),
  patch: (p, b, o) => request('PATCH', p, b, o),
  del: (p, o) => request('DELETE', p, null, o),
};

// Build a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// Download a response as a file (CSV, PDF, JSON) without leaving the page.
export async function download(path, filename) {
  const res = await request('GET', path, null, { raw: true });
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

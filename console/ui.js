// ui.js - building blocks of every page: elements built from data (never
// HTML strings, so nothing the server returns can inject markup), tables
// that page, sort, filter and export, forms that say what is wrong next to
// the field, charts as SVG.
import { t, num, label } from './i18n.js';
import { ApiError, download, qs } from './api.js';

// h('a', {href: '#/x', class: 'y'}, 'text', child...) -> element
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function toast(msg) {
  const box = document.getElementById('toast');
  const m = h('div', { class: 'msg' }, msg);
  box.append(m);
  setTimeout(() => m.remove(), 5000);
}

export function errorBox(err) {
  const msg = err instanceof ApiError
    ? err.message + (err.status === 403 ? t('（この操作の権限がありません）', ' (your role may not do this)') : '')
    : t('サーバーに接続できません。ネットワークを確認して再読み込みしてください。',
        'Cannot reach the server. Check the network and reload the page.');
  return h('div', { class: 'error-box', role: 'alert' }, msg);
}

export function sevBadge(sev) {
  return h('span', { class: 'badge sev-' + (sev || 'info') }, label('severity', sev));
}

export function statusBadge(st) {
  return h('span', { class: 'badge' }, label('status', st));
}

export function card(labelText, value, sub, kind) {
  return h('div', { class: 'card' + (kind ? ' ' + kind : '') },
    h('div', { class: 'label' }, labelText),
    h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

export function empty(text) {
  return h('div', { class: 'empty' }, text);
}

/*
 * A table over a paged API list.
 *   columns: [{key, title, render?(row), num?, sort?: bool}]
 *   load({page, per_page, sort, desc, ...filters}) -> {items, total}
 *   filters: [{key, title, type: 'text'|'select'|'date', options?: [[value, text]]}]
 *   csv: function(params) -> path of the CSV export (optional)
 *   onRow: function(row) -> void (optional: row becomes a link)
 */
export function dataTable(opts) {
  const state = { page: 1, per_page: opts.perPage || 25, sort: opts.sort || '', desc: !!opts.desc, f: {} };
  const root = h('div', { class: 'datatable' });
  const body = h('div');
  const toolbar = h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => { e.preventDefault(); state.page = 1; refresh(); } });
  for (const f of opts.filters || []) {
    let input;
    if (f.type === 'select') {
      input = h('select', { name: f.key }, h('option', { value: '' }, t('すべて', 'all')),
        (f.options || []).map(([v, txt]) => h('option', { value: v }, txt)));
    } else {
      input = h('input', { name: f.key, type: f.type === 'date' ? 'date' : 'search', size: 14 });
    }
    input.addEventListener('change', () => { state.f[f.key] = input.value; });
    input.addEventListener('input', () => { state.f[f.key] = input.value; });
    toolbar.append(h('label', {}, f.title, input));
  }
  if ((opts.filters || []).length) toolbar.append(h('button', { type: 'submit' }, t('絞り込む', 'Filter')));
  if (opts.csv || opts.csvRows) {
    toolbar.append(h('button', {
      type: 'button',
      onclick: async () => {
        try {
          if (opts.csv) await download(opts.csv(params()), (opts.csvName || 'export') + '.csv');
          else saveCsv(await opts.csvRows(params()), opts.columns, (opts.csvName || 'export') + '.csv');
        } catch (e) { toast(e.message); }
      },
    }, t('CSV 出力', 'Export CSV')));
  }
  root.append(toolbar, body);

  function params() {
    return Object.assign({}, state.f, { page: state.page, per_page: state.per_page, sort: state.sort, desc: state.desc ? 1 : '' });
  }

  async function refresh() {
    body.replaceChildren(h('p', { class: 'loading' }, t('読み込み中…', 'Loading…')));
    let res;
    try {
      res = await opts.load(params());
    } catch (e) {
      body.replaceChildren(errorBox(e));
      return;
    }
    const items = res.items || [];
    if (!items.length) {
      body.replaceChildren(empty(opts.emptyText || t('該当するものはありません。', 'Nothing here.')));
      return;
    }
    const head = h('tr', {}, opts.columns.map((c) => {
      const sortable = opts.sortable !== false && c.sort !== false && c.key;
      const active = state.sort === c.key;
      const th = h('th', {
        scope: 'col', class: c.num ? 'num' : null,
        'aria-sort': active ? (state.desc ? 'descending' : 'ascending') : null,
      });
      if (sortable) {
        th.append(h('button', {
          type: 'button',
          onclick: () => { if (state.sort === c.key) state.desc = !state.desc; else { state.sort = c.key; state.desc = false; } refresh(); },
        }, c.title, active ? (state.desc ? ' ▼' : ' ▲') : ''));
      } else th.append(c.title);
      return th;
    }));
    const rows = items.map((row) => {
      const tr = h('tr', {}, opts.columns.map((c) => h('td', { class: c.num ? 'num' : null },
        c.render ? c.render(row) : (row[c.key] === undefined || row[c.key] === null ? '—' : String(row[c.key])))));
      return tr;
    });
    const total = res.total === undefined ? items.length : res.total;
    const pages = Math.max(1, Math.ceil(total / state.per_page));
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: state.page <= 1, onclick: () => { state.page--; refresh(); } }, t('前へ', 'Previous')),
      h('span', {}, t(`${num(total)} 件中 ${state.page} / ${pages} ページ`, `page ${state.page} of ${pages}, ${num(total)} in all`)),
      h('button', { type: 'button', disabled: state.page >= pages, onclick: () => { state.page++; refresh(); } }, t('次へ', 'Next')));
    body.replaceChildren(h('div', { class: 'panel' }, h('table', {}, h('thead', {}, head), h('tbody', {}, rows))), pager);
  }
  root.refresh = refresh;
  refresh();
  return root;
}

// CSV in the browser, for lists whose API pages JSON only: RFC 4180
// quoting, UTF-8 with a BOM so that Excel in Japan reads it.
function csvCell(v) {
  let x = v === undefined || v === null ? '' : (typeof v === 'object' ? JSON.stringify(v) : String(v));
  // A cell a spreadsheet would run as a formula is kept as text.
  if (/^[=+\-@\t\r]/.test(x)) x = "'" + x;
  return /[",\r\n]/.test(x) ? '"' + x.replace(/"/g, '""') + '"' : x;
}

export function saveCsv(rows, columns, filename) {
  const cols = columns.filter((c) => c.key);
  const lines = [cols.map((c) => csvCell(c.title)).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c.key])).join(','));
  const blob = new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

/*
 * A form from field descriptions: [{name, label, type, required, options, value, help}]
 * submit(values) may throw an ApiError; its field errors are shown next to
 * the fields, anything else above the form.
 */
export function form(fields, submitText, submit) {
  const el = h('form', { class: 'stack', novalidate: true });
  const top = h('div');
  el.append(top);
  const inputs = {};
  for (const f of fields) {
    const id = 'f-' + f.name + '-' + Math.random().toString(36).slice(2, 7);
    let input;
    if (f.type === 'select') {
      input = h('select', { id, name: f.name, required: f.required },
        f.required ? null : h('option', { value: '' }, '—'),
        (f.options || []).map(([v, txt]) => h('option', { value: v, selected: String(f.value) === String(v) }, txt)));
    } else if (f.type === 'textarea' || f.type === 'markdown') {
      input = h('textarea', { id, name: f.name, required: f.required }, f.value || '');
    } else if (f.type === 'checkbox') {
      input = h('input', { id, name: f.name, type: 'checkbox', checked: !!f.value });
    } else {
      input = h('input', {
        id, name: f.name, required: f.required, value: f.value === undefined ? '' : f.value,
        type: f.type || 'text', autocomplete: f.autocomplete || 'off', inputmode: f.inputmode,
        maxlength: f.maxlength, pattern: f.pattern,
      });
    }
    const err = h('span', { class: 'field-error', id: id + '-err', 'aria-live': 'polite' });
    input.setAttribute('aria-describedby', id + '-err');
    inputs[f.name] = { input, err, f };
    el.append(h('label', { for: id }, f.label + (f.required ? t('（必須）', ' (required)') : ''),
      input, f.help ? h('span', { class: 'muted' }, f.help) : null, err));
  }
  const btn = h('button', { type: 'submit', class: 'primary' }, submitText);
  el.append(h('div', {}, btn));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    top.replaceChildren();
    let bad = false;
    const values = {};
    for (const [name, { input, err, f }] of Object.entries(inputs)) {
      err.textContent = '';
      input.removeAttribute('aria-invalid');
      let v = f.type === 'checkbox' ? input.checked : input.value.trim();
      if (f.required && (v === '' || v === false)) {
        err.textContent = t('入力してください', 'This is required');
        input.setAttribute('aria-invalid', 'true');
        bad = true;
        continue;
      }
      if (f.type === 'number' && v !== '') v = Number(v);
      if (v !== '') values[name] = v;
    }
    if (bad) {
      const first = el.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      return;
    }
    btn.disabled = true;
    try {
      await submit(values);
    } catch (ex) {
      const fe = ex instanceof ApiError ? ex.fields() : {};
      let shown = false;
      for (const [name, msg] of Object.entries(fe)) {
        if (inputs[name]) {
          inputs[name].err.textContent = msg;
          inputs[name].input.setAttribute('aria-invalid', 'true');
          shown = true;
        }
      }
      top.replaceChildren(errorBox(ex));
      if (shown) {
        const first = el.querySelector('[aria-invalid="true"]');
        if (first) first.focus();
      }
    } finally {
      btn.disabled = false;
    }
  });
  return el;
}

// A bar chart: data [[label, value]], as SVG with a text table fallback for
// screen readers.
export function barChart(data, title, opts = {}) {
  const W = opts.width || 640, H = opts.height || 220, pad = 34, bw = Math.max(4, (W - pad * 2) / Math.max(1, data.length) - 4);
  const max = Math.max(1, ...data.map((d) => Number(d[1]) || 0));
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  svg.append(s('line', { x1: pad, y1: H - pad, x2: W - pad / 2, y2: H - pad, stroke: '#888' }));
  svg.append(s('text', { x: 4, y: 14, 'font-size': 11, fill: '#57606a' }, num(max)));
  data.forEach(([lab, v], i) => {
    const x = pad + i * (bw + 4), hgt = ((Number(v) || 0) / max) * (H - pad * 2);
    svg.append(s('rect', { x, y: H - pad - hgt, width: bw, height: hgt, fill: opts.color || '#1f4e79' },
      s('title', {}, `${lab}: ${num(v)}`)));
    if (data.length <= 16 || i % Math.ceil(data.length / 12) === 0) {
      svg.append(s('text', { x: x + bw / 2, y: H - pad + 14, 'font-size': 10, 'text-anchor': 'middle', fill: '#57606a' }, lab));
    }
  });
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), svg);
}

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)]));
}

export { qs };

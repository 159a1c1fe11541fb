// pages.js - one function per page. Each page is drawn from the API that
// backs it; a part whose API answers with an error says so in its place
// and the rest of the page still works.
import { t, num, pct, dt, label } from './i18n.js';
import { api, qs, download } from './api.js';
import { h, dataTable, form, card, empty, errorBox, sevBadge, statusBadge, barChart, kv, toast } from './ui.js';

// A part of a page that loads on its own.
function part(title, load) {
  const body = h('div', {}, h('p', { class: 'loading' }, t('読み込み中…', 'Loading…')));
  const el = h('section', { class: 'part' }, title ? h('h2', {}, title) : null, body);
  (async () => {
    try {
      const c = await load();
      body.replaceChildren(...[].concat(c));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  })();
  return el;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low'];
const canTriage = (u) => ['admin', 'ciso', 'csirt'].includes(u.role) || u.role === 'dept_manager';
const canWrite = (u) => ['admin', 'ciso', 'csirt', 'dept_manager'].includes(u.role);

// ---- dashboard ----

async function dashboard(r, user) {
  const cards = h('div', { class: 'cards' });
  // Each card has its place from the start, whatever order the answers
  // come in; a card whose API is not open to this role is left out.
  const add = async (f) => {
    const slot = h('div', { class: 'slot' });
    cards.append(slot);
    try { slot.replaceWith(await f()); } catch (e) { slot.remove(); }
  };
  await Promise.all([
    add(async () => {
      const counts = await Promise.all(SEVERITIES.map((s) => api.get('/v1/alerts' + qs({ status: 'open', severity: s, per_page: 1 }))));
      const total = counts.reduce((a, c) => a + (c.total || 0), 0);
      const parts = SEVERITIES.map((s, i) => `${label('severity', s)} ${num(counts[i].total || 0)}`).join(' / ');
      return card(t('未対応のアラート', 'Open alerts'), h('a', { href: '#/alerts' }, num(total)), parts, total ? 'warn' : 'ok');
    }),
    add(async () => {
      const res = await api.get('/v1/incidents' + qs({ per_page: 200 }));
      const items = (res.items || []).filter((i) => i.status !== 'closed');
      const overdue = items.filter((i) => i.ppc && i.ppc.overdue).length;
      return card(t('対応中のインシデント', 'Open incidents'), h('a', { href: '#/incidents' }, num(items.length)),
        overdue ? t(`報告期限超過 ${overdue} 件`, `${overdue} with an overdue report`) : t('期限超過なし', 'no overdue report'), overdue ? 'warn' : 'ok');
    }),
    add(async () => {
      const res = await api.get('/v1/isms/training/overdue' + qs(user.dept ? { dept: user.dept } : {}));
      const n = res.total ?? (res.items || []).length;
      const cov = res.coverage;
      return card(t('研修の期限切れ', 'Training overdue'), h('a', { href: '#/people' }, num(n)),
        cov !== undefined ? t(`受講率 ${pct(cov)}`, `coverage ${pct(cov)}`) : '', n ? 'warn' : 'ok');
    }),
    add(async () => {
      const res = await api.get('/v1/isms/actions/overdue');
      const n = res.total ?? (res.items || []).length;
      return card(t('期限超過の是正処置', 'Overdue corrective actions'), h('a', { href: '#/audits' }, num(n)), '', n ? 'warn' : 'ok');
    }),
    add(async () => {
      const [health, cp] = await Promise.all([api.get('/v1/health'), api.get('/v1/ledger/checkpoint')]);
      const size = String(cp).split('\n')[1] || '—';
      return card(t('監査台帳', 'Ledger'), h('a', { href: '#/ledger' }, num(health.ledger_size)),
        t(`署名済みチェックポイント: ${num(size)} 件まで`, `signed checkpoint at ${num(size)} entries`));
    }),
  ]);
  const d2s = (d) => d.toISOString().slice(0, 10);
  const perDay = part(t('1 日あたりのアラート（直近 30 日）', 'Alerts per day (last 30 days)'), async () => {
    const to = new Date();
    const days = [];
    for (let i = 29; i >= 0; i--) days.push(d2s(new Date(to.getTime() - i * 86400000)));
    const counts = await Promise.all(days.map((d) => api.get('/v1/alerts' + qs({ from: d, to: d, per_page: 1 })).then((r) => r.total || 0)));
    if (!counts.some((n) => n)) return empty(t('直近 30 日間にアラートはありません。', 'No alerts in the last 30 days.'));
    return barChart(days.map((d, i) => [d.slice(5), counts[i]]), t('1 日あたりのアラート件数', 'Alerts per day'));
  });
  const perMonth = part(t('月ごとのアラート（12 か月）', 'Alerts per month (12 months)'), async () => {
    const now = new Date();
    const months = [];
    for (let i = 11; i >= 0; i--) {
      const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1));
      const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0));
      months.push([d2s(first), d2s(last)]);
    }
    const counts = await Promise.all(months.map(([f, l]) => api.get('/v1/alerts' + qs({ from: f, to: l, per_page: 1 })).then((r) => r.total || 0)));
    if (!counts.some((n) => n)) return empty(t('この 12 か月にアラートはありません。', 'No alerts in the last 12 months.'));
    return barChart(months.map(([f], i) => [f.slice(0, 7), counts[i]]), t('月ごとのアラート件数', 'Alerts per month'), { color: '#9a6700' });
  });
  return h('div', {}, h('h1', {}, t('ダッシュボード', 'Dashboard')), cards, perDay, perMonth);
}

// ---- alerts ----

function alertsList(user) {
  return dataTable({
    filters: [
      { key: 'status', title: t('状態', 'Status'), type: 'select', options: ['open', 'confirmed', 'false_positive', 'escalated'].map((s) => [s, label('status', s)]) },
      { key: 'severity', title: t('重大度', 'Severity'), type: 'select', options: SEVERITIES.map((s) => [s, label('severity', s)]) },
      { key: 'rule', title: t('規則', 'Rule'), type: 'select', options: ['W-UNEXPLAINED', 'W-DV-SUPPORT', 'W-RELATIVE', 'W-NEIGHBOUR', 'W-FLAGGED', 'W-BULK-SCAN', 'W-OFF-HOURS', 'W-AFTER-END', 'W-UNTRAINED', 'W-NO-PLEDGE', 'W-EXPORT-VOLUME', 'W-PRINT-VOLUME', 'W-SEARCH-NO-FOLLOWUP'].map((r) => [r, label('rule', r)]) },
      { key: 'staff', title: t('職員 ID', 'Staff id') },
      { key: 'from', title: t('開始日', 'From'), type: 'date' },
      { key: 'to', title: t('終了日', 'To'), type: 'date' },
    ],
    load: (p) => api.get('/v1/alerts' + qs(p)).then((res) => ({ items: res.alerts || res.items || [], total: res.total })),
    // The alerts API pages JSON and orders by itself: the CSV is made
    // here from every page of the current filter (at most 10,000 rows).
    sortable: false,
    csvRows: async (p) => {
      const rows = [];
      for (let page = 1; page <= 50; page++) {
        const res = await api.get('/v1/alerts' + qs(Object.assign({}, p, { page, per_page: 200 })));
        rows.push(...(res.alerts || []));
        if (rows.length >= (res.total || 0) || !(res.alerts || []).length) break;
      }
      return rows;
    },
    csvName: 'alerts',
    columns: [
      { key: 'id', title: 'ID', render: (a) => h('a', { href: '#/alerts/' + encodeURIComponent(a.id) }, a.id) },
      { key: 'day', title: t('日付', 'Day'), render: (a) => a.day || a.date || '—' },
      { key: 'severity', title: t('重大度', 'Severity'), render: (a) => sevBadge(a.severity) },
      { key: 'rule', title: t('規則', 'Rule'), render: (a) => h('span', { title: a.rule }, label('rule', a.rule)) },
      { key: 'staff_id', title: t('職員', 'Staff'), render: (a) => a.staff_name ? `${a.staff_name}（${a.staff_id}）` : (a.staff_id || '—') },
      { key: 'dept', title: t('所属', 'Dept') },
      { key: 'nevents', title: t('件数', 'Events'), num: true, render: (a) => num(a.nevents) },
      { key: 'status', title: t('状態', 'Status'), render: (a) => statusBadge(a.status) },
    ],
    emptyText: t('該当するアラートはありません。', 'No alerts match.'),
  });
}

async function alertDetail(id, user) {
  const a = await api.get('/v1/alerts/' + encodeURIComponent(id));
  const events = a.events || [];
  const el = h('div', {},
    h('p', {}, h('a', { href: '#/alerts' }, t('← アラート一覧', '← All alerts'))),
    h('h1', {}, t('アラート ', 'Alert '), a.id),
    h('div', { class: 'panel' }, kv([
      [t('重大度', 'Severity'), sevBadge(a.severity)],
      [t('状態', 'Status'), statusBadge(a.status)],
      [t('規則', 'Rule'), `${label('rule', a.rule)}（${a.rule}）`],
      [t('期間', 'Period'), `${dt(a.first_ts)} – ${dt(a.last_ts)}`],
      [t('職員', 'Staff'), a.staff_name ? `${a.staff_name}（${a.staff_id}）` : a.staff_id],
      [t('所属', 'Department'), a.dept],
      [t('日付', 'Day'), a.day || a.date],
      [t('理由', 'Why'), t(a.ja || '', a.en || '')],
    ])),
    h('h2', {}, t('対象のアクセス', 'The accesses')),
    events.length ? h('div', { class: 'panel' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, t('台帳番号', 'Ledger index')), h('th', {}, t('業務システムの参照番号', 'Source ref')), h('th', {}, t('日時', 'Time')))),
      h('tbody', {}, events.map((e) => h('tr', {}, h('td', { class: 'num' }, e.index ?? e.ledger_index), h('td', {}, e.ref || '—'), h('td', {}, dt(e.ts)))))))
      : empty(t('アクセスの記録がありません。', 'No events.')));
  if (a.history && a.history.length) {
    el.append(h('h2', {}, t('対応の履歴', 'Triage history')),
      h('ul', {}, a.history.map((x) => h('li', {}, `${dt(x.ts)} ${x.actor || ''}: ${label('status', x.from)} → ${label('status', x.to)}${x.reason ? '（' + x.reason + '）' : ''}`))));
  }
  if (canTriage(user)) {
    el.append(h('h2', {}, t('対応する', 'Triage')), form([
      { name: 'status', label: t('判定', 'Decision'), type: 'select', required: true, options: ['confirmed', 'false_positive', 'escalated', 'open'].map((s) => [s, label('status', s)]) },
      { name: 'reason', label: t('理由（誤検知の場合は必須）', 'Reason (required for a false positive)'), type: 'textarea' },
    ], t('記録する', 'Record'), async (v) => {
      await api.post('/v1/alerts/' + encodeURIComponent(a.id), v);
      toast(t('対応を記録しました（監査台帳に記録済み）', 'Recorded (and written to the ledger)'));
      location.hash = '#/alerts/' + encodeURIComponent(a.id) + '?t=' + Date.now();
    }));
    el.append(h('p', {}, h('button', {
      type: 'button', class: 'danger',
      onclick: async () => {
        try {
          const inc = await api.post('/v1/incidents/from-alert/' + encodeURIComponent(a.id), {});
          toast(t('インシデントを起票しました', 'Incident opened'));
          location.hash = '#/incidents/' + encodeURIComponent(inc.id || inc._id);
        } catch (e) { toast(e.message); }
      },
    }, t('インシデントとして起票する', 'Escalate to an incident'))));
  }
  return el;
}

async function alerts(r, user) {
  if (r.rest[0]) return alertDetail(r.rest[0], user);
  return h('div', {}, h('h1', {}, t('アラート', 'Alerts')),
    h('p', { class: 'muted' }, t('説明のつかないアクセスを、職員・規則・日ごとにまとめています。',
      'Accesses that nothing explains, grouped by person, rule and day.')),
    alertsList(user));
}

// ---- ISMS records through the generic engine (/v1/isms/{kind}) ----

// The kinds of records and their fields (GET /v1/isms), loaded once: the
// lists and forms below are drawn from them, so a field added to a kind
// appears in the console without a change here.
let kindsCache = null;
async function kindMeta(kind) {
  if (!kindsCache) {
    try {
      const res = await api.get('/v1/isms');
      kindsCache = Array.isArray(res) ? res : (res.kinds || res.items || []);
    } catch (e) {
      return null;
    }
  }
  return kindsCache.find((k) => k.name === kind) || null;
}

function valueText(v) {
  if (v === undefined || v === null || v === '') return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? t('はい', 'yes') : t('いいえ', 'no');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// A list of records of one kind with filters, CSV export and a create form.
// Columns: the wanted fields that the kind has, else its first short fields.
function recordList(kind, wanted, user, opts = {}) {
  const wrap = h('div', {}, h('p', { class: 'loading' }, t('読み込み中…', 'Loading…')));
  (async () => {
    const meta = await kindMeta(kind);
    if (!meta) {
      wrap.replaceChildren(empty(t('この種類の記録はまだ使えません。', 'This kind of record is not available.')));
      return;
    }
    const fields = meta.fields || [];
    const short = fields.filter((f) => !['markdown', 'strlist'].includes(f.type));
    let cols = (wanted || []).map((n) => fields.find((f) => f.name === n)).filter(Boolean);
    if (cols.length < 3) cols = short.slice(0, 6);
    const dept = meta.dept_field ? [{ key: meta.dept_field, title: t('所属', 'Department') }] : [];
    const table = dataTable({
      filters: [{ key: 'q', title: t('検索', 'Search') }].concat(dept),
      load: (p) => api.get('/v1/isms/' + kind + qs(Object.assign({}, opts.fixed || {}, p))).then((res) => ({ items: res.items || res, total: res.total })),
      csv: (p) => '/v1/isms/' + kind + qs(Object.assign({}, opts.fixed || {}, p, { format: 'csv', page: '', per_page: '' })),
      csvName: kind,
      columns: [{ key: '_id', title: 'ID', render: (x) => h('a', { href: `#/record/${kind}/${encodeURIComponent(x._id || x.id)}` }, x._id || x.id) }]
        .concat(cols.map((f) => ({ key: f.name, title: f.label || f.name, render: (x) => valueText(x[f.name]) }))),
      emptyText: opts.emptyText || t(`${meta.label || kind}はまだありません。`, `No ${meta.label || kind} yet.`),
    });
    wrap.replaceChildren(table);
    if (canWrite(user) && opts.create !== false) {
      const holder = h('div');
      wrap.append(h('p', {}, h('button', {
        type: 'button',
        onclick: () => holder.replaceChildren(h('h2', {}, t('新規作成: ', 'New: ') + (meta.label || kind)),
          recordForm(kind, meta, null, async () => { holder.replaceChildren(); table.refresh(); })),
      }, t('新規作成', 'New record'))), holder);
    }
  })();
  return wrap;
}

function fieldInputs(meta, rec) {
  const fields = (meta && meta.fields) || [];
  return fields.filter((f) => !f.derived).map((f) => {
    const base = { name: f.name, label: (f.label || f.ja || f.name), required: !!f.required, value: rec ? rec[f.name] : undefined };
    switch (f.type) {
      case 'enum': return Object.assign(base, { type: 'select', options: (f.values || []).map((v) => [v, v]) });
      case 'bool': return Object.assign(base, { type: 'checkbox' });
      case 'int': return Object.assign(base, { type: 'number' });
      case 'date': return Object.assign(base, { type: 'date' });
      case 'markdown': return Object.assign(base, { type: 'markdown' });
      case 'strlist': return Object.assign(base, { value: rec && Array.isArray(rec[f.name]) ? rec[f.name].join(', ') : '', help: t('カンマ区切り', 'comma-separated') });
      default: return base;
    }
  });
}

function recordForm(kind, meta, rec, done) {
  if (!meta) return errorBox(new Error(t('この種類の入力項目を取得できません。', 'Cannot load the fields of this kind.')));
  const lists = new Set((meta.fields || []).filter((f) => f.type === 'strlist').map((f) => f.name));
  return form(fieldInputs(meta, rec), rec ? t('保存する', 'Save') : t('作成する', 'Create'), async (v) => {
    for (const k of Object.keys(v)) if (lists.has(k)) v[k] = String(v[k]).split(',').map((x) => x.trim()).filter(Boolean);
    if (rec) await api.patch(`/v1/isms/${kind}/${encodeURIComponent(rec._id)}`, v, { ifMatch: rec._version });
    else await api.post('/v1/isms/' + kind, v);
    toast(t('保存しました（監査台帳に記録済み）', 'Saved (and written to the ledger)'));
    await done();
  });
}

async function recordPage(r, user) {
  const [kind, id] = r.rest;
  const [rec, meta, hist] = await Promise.all([
    api.get(`/v1/isms/${kind}/${encodeURIComponent(id)}`),
    kindMeta(kind),
    api.get(`/v1/isms/${kind}/${encodeURIComponent(id)}/history`).catch(() => null),
  ]);
  const fields = (meta && meta.fields) || Object.keys(rec).filter((k) => !k.startsWith('_')).map((k) => ({ name: k }));
  const el = h('div', {},
    h('p', {}, h('button', { type: 'button', class: 'link', onclick: () => history.back() }, t('← 戻る', '← Back'))),
    h('h1', {}, `${(meta && (meta.label || meta.ja)) || kind} ${id}`),
    h('div', { class: 'panel' }, kv(fields.map((f) => [f.label || f.ja || f.name, valueText(rec[f.name])]).concat([
      [t('版', 'Version'), rec._version], [t('更新', 'Updated'), `${dt(rec._updated)} ${rec._updated_by || ''}`]]))));
  if (canWrite(user)) {
    const holder = h('div');
    el.append(h('p', {}, h('button', { type: 'button', onclick: () => holder.replaceChildren(h('h2', {}, t('編集', 'Edit')), recordForm(kind, meta, rec, async () => { location.hash = location.hash.split('?')[0] + '?t=' + Date.now(); })) }, t('編集する', 'Edit'))), holder);
  }
  // A version of a policy document is approved by the CISO (an admin may
  // approve a department's procedure); the server decides who may.
  if (kind === 'document_versions' && rec.status !== 'approved' && ['ciso', 'admin'].includes(user.role)) {
    el.append(h('p', {}, h('button', {
      type: 'button', class: 'primary',
      onclick: async () => {
        try {
          await api.post(`/v1/isms/document_versions/${encodeURIComponent(id)}/approve`, {});
          toast(t('承認しました（監査台帳に記録済み）', 'Approved (and written to the ledger)'));
          location.hash = location.hash.split('?')[0] + '?t=' + Date.now();
        } catch (e) { toast(e.message); }
      },
    }, t('この版を承認する', 'Approve this version'))));
  }
  if (kind === 'documents') {
    el.append(h('h2', {}, t('版', 'Versions')), recordList('document_versions', ['version', 'status', 'approved_by', 'approved_on'], user, { fixed: { document: id } }));
  }
  const items = hist && (hist.items || hist);
  if (Array.isArray(items) && items.length) {
    el.append(h('h2', {}, t('履歴', 'History')), h('div', { class: 'panel' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, t('版', 'Version')), h('th', {}, t('操作', 'Operation')), h('th', {}, t('実施者', 'By')), h('th', {}, t('日時', 'When')), h('th', {}, t('台帳番号', 'Ledger index')))),
      h('tbody', {}, items.map((x) => h('tr', {}, h('td', { class: 'num' }, x.version), h('td', {}, x.op), h('td', {}, x.actor), h('td', {}, dt(x.at)), h('td', { class: 'num' }, x.ledger_index ?? '—')))))));
  }
  return el;
}

// ---- pages built from record lists ----

function simplePage(title, intro, sections) {
  return async (r, user) => {
    const el = h('div', {}, h('h1', {}, title), intro ? h('p', { class: 'muted' }, intro) : null);
    for (const s of sections) el.append(h('h2', {}, s.title), typeof s.body === 'function' ? await s.body(user) : s.body);
    return el;
  };
}

const people = simplePage(t('職員と研修', 'People and training'), t('研修と誓約の状況。期限切れの職員は業務システムの利用が拒否されます。',
  'Training and pledges. Staff whose training has lapsed are refused by the decision service.'), [
  { title: t('研修の期限切れ', 'Training overdue'), body: (u) => part(null, async () => {
    const res = await api.get('/v1/isms/training/overdue' + qs(u.dept ? { dept: u.dept } : {}));
    const items = res.items || [];
    if (!items.length) return empty(t('期限切れの職員はいません。', 'Nobody is overdue.'));
    return h('div', { class: 'panel' }, h('table', {}, h('thead', {}, h('tr', {}, ['staff_id', 'name', 'dept', 'course', 'due'].map((k) => h('th', {}, k)))),
      h('tbody', {}, items.map((x) => h('tr', {}, ['staff_id', 'name', 'dept', 'course', 'due'].map((k) => h('td', {}, valueText(x[k] ?? x[k + '_id'])))))))); }) },
  { title: t('研修コース', 'Courses'), body: (u) => recordList('courses', ['title', 'kind', 'validity_days'], u) },
  { title: t('セキュリティ通知', 'Security notices'), body: (u) => recordList('notices', ['title', 'source', 'severity', 'due'], u) },
]);

const assets = async (r, user) => {
  const el = h('div', {}, h('h1', {}, t('情報資産とリスク', 'Assets and risks')));
  el.append(h('h2', {}, t('リスクのヒートマップ', 'Risk heat map')), part(null, async () => heatmap(await api.get('/v1/isms/risks/heatmap'))));
  el.append(h('h2', {}, t('情報資産', 'Information assets')), recordList('assets', ['name', 'type', 'dept', 'confidentiality', 'integrity', 'availability'], user));
  el.append(h('h2', {}, t('リスク登録簿', 'Risk register')), recordList('risks', ['title', 'asset', 'likelihood', 'impact', 'score', 'treatment'], user));
  return el;
};

function heatmap(hm) {
  const grid = hm.inherent || hm.grid || hm;
  if (!Array.isArray(grid)) return empty(t('リスクはまだ登録されていません。', 'No risks yet.'));
  const color = (l, i) => { const sc = l * i; return sc >= 15 ? '#f4c7c3' : sc >= 8 ? '#fce8b2' : '#c8e6c9'; };
  const rows = [];
  for (let imp = 5; imp >= 1; imp--) {
    rows.push(h('tr', {}, h('th', { scope: 'row' }, t(`影響 ${imp}`, `impact ${imp}`)),
      [1, 2, 3, 4, 5].map((lik) => {
        const n = (grid[imp - 1] && grid[imp - 1][lik - 1]) || 0;
        const td = h('td', { title: `${t('影響', 'impact')} ${imp} × ${t('可能性', 'likelihood')} ${lik}: ${n}` }, n || '');
        td.style.background = color(lik, imp);
        return td;
      })));
  }
  rows.push(h('tr', {}, h('th', {}), [1, 2, 3, 4, 5].map((l) => h('th', { scope: 'col' }, t(`可能性 ${l}`, `likelihood ${l}`)))));
  return h('div', { class: 'panel' }, h('table', { class: 'heat' }, h('tbody', {}, rows)));
}

const documents = simplePage(t('ポリシー文書', 'Policy documents'), t('基本方針・対策基準・実施手順の版と承認。',
  'Versions and approval of the basic policy, the standards and the procedures.'), [
  { title: t('文書', 'Documents'), body: (u) => recordList('documents', ['title', 'layer', 'dept', 'status', 'publication', 'review_due'], u) },
]);

const audits = simplePage(t('監査と是正処置', 'Audits and corrective actions'), null, [
  { title: t('監査', 'Audits'), body: (u) => recordList('audits', ['title', 'type', 'start', 'end', 'status'], u) },
  { title: t('指摘事項', 'Findings'), body: (u) => recordList('findings', ['title', 'severity', 'dept', 'control', 'status'], u) },
  { title: t('是正処置', 'Corrective actions'), body: (u) => recordList('corrective_actions', ['title', 'owner', 'due', 'status'], u) },
]);

const contractors = simplePage(t('委託先', 'Contractors'), null, [
  { title: t('注意が必要な契約', 'Contracts needing attention'), body: () => part(null, async () => {
    const res = await api.get('/v1/isms/contracts/attention');
    const items = res.items || [];
    if (!items.length) return empty(t('期限の近い契約や未提出の報告はありません。', 'No contract ending soon and no report overdue.'));
    return h('ul', {}, items.map((x) => h('li', {}, `${x.contract_id || x.id}: ${x.reason || x.message || ''}`)));
  }) },
  { title: t('委託先', 'Contractors'), body: (u) => recordList('contractors', ['name', 'address'], u) },
  { title: t('契約', 'Contracts'), body: (u) => recordList('contracts', ['contractor', 'title', 'start', 'end', 'dept'], u) },
]);

const continuity = simplePage(t('業務継続（ICT-BCP）', 'Continuity (ICT-BCP)'), t('重要システムの目標復旧時間と訓練の状況。',
  'Recovery objectives of the critical systems and their drills.'), [
  { title: t('重要システム', 'Critical systems'), body: (u) => recordList('bcp_systems', ['system', 'rto_hours', 'rpo_hours', 'last_drill', 'drill_due'], u) },
  { title: t('訓練', 'Drills'), body: (u) => recordList('bcp_drills', ['system', 'date', 'scenario', 'result'], u) },
]);

const violations = simplePage(t('違反と処分', 'Violations'), t('人事担当のみが閲覧できます。', 'Visible to personnel only.'), [
  { title: t('違反', 'Violations'), body: (u) => recordList('violations', ['staff_id', 'seriousness', 'intent', 'outcome'], u) },
]);

// ---- incidents ----

const CLOCKS = {
  prelim: ['速報（個人情報保護委員会）', 'Preliminary report (PPC)'],
  final: ['確報（個人情報保護委員会）', 'Final report (PPC)'],
  notice: ['本人への通知', 'Notice to the people concerned'],
};
const CLOCK_STATES = {
  not_required: ['不要', 'not required'], unknown: ['判定待ち', 'to be decided'], running: ['進行中', 'running'],
  due_soon: ['期限間近', 'due soon'], overdue: ['期限超過', 'OVERDUE'], done: ['完了', 'done'], done_late: ['完了（期限後）', 'done late'],
};
const INCIDENT_STATUS = ['reported', 'triaged', 'contained', 'recovered', 'closed'];
const CATEGORIES = {
  unauthorized_access: ['不正アクセス', 'unauthorized access'], unauthorized_viewing: ['不正な閲覧', 'unauthorized viewing'],
  media_loss: ['媒体の紛失', 'loss of media'], misdelivery: ['誤送付', 'misdelivery'], malware: ['マルウェア', 'malware'],
  defacement: ['改ざん', 'defacement'], outage: ['障害', 'outage'], dos: ['サービス妨害', 'denial of service'],
  phishing: ['フィッシング', 'phishing'], physical: ['物理的事案', 'physical'], other: ['その他', 'other'],
};
const incCategory = (c) => (CATEGORIES[c] ? t(...CATEGORIES[c]) : (c || '—'));
const incStatus = (st) => ({ reported: t('報告済み', 'reported'), triaged: t('分類済み', 'triaged'), contained: t('封じ込め済み', 'contained'), recovered: t('復旧済み', 'recovered'), closed: t('終結', 'closed') }[st] || st || '—');

// What the CSIRT records as it works: notes on the timeline and tasks.
// The server decides who may (after triage, the CSIRT and the office).
function incidentActions(i) {
  const id = encodeURIComponent(i._id || i.id);
  const reload = () => { location.hash = '#/incidents/' + id + '?t=' + Date.now(); };
  return h('div', {},
    h('h2', {}, t('経過を記録する', 'Record on the timeline')),
    form([
      { name: 'type', label: t('種別', 'Type'), type: 'select', required: true, value: 'note',
        options: [['note', t('メモ', 'note')], ['action', t('対応', 'action')], ['share', t('外部への共有', 'shared outside')]] },
      { name: 'text', label: t('内容', 'Text'), type: 'textarea', required: true },
      { name: 'party', label: t('共有先（外部 CSIRT など）', 'Shared with (outside CSIRT, body)') },
    ], t('記録する', 'Record'), async (v) => {
      await api.post(`/v1/incidents/${id}/${v.type === 'share' ? 'share' : 'timeline'}`, v);
      toast(t('記録しました（監査台帳に記録済み）', 'Recorded (and written to the ledger)'));
      reload();
    }),
    h('h2', {}, t('タスクを追加する', 'Add a task')),
    form([
      { name: 'title', label: t('タスク', 'Task'), required: true },
      { name: 'owner', label: t('担当', 'Owner'), required: true },
      { name: 'due', label: t('期限', 'Due'), type: 'date', required: true },
    ], t('追加する', 'Add'), async (v) => {
      await api.post(`/v1/incidents/${id}/tasks`, v);
      toast(t('タスクを追加しました', 'Task added'));
      reload();
    }));
}

async function incidents(r, user) {
  if (r.rest[0]) {
    const i = await api.get('/v1/incidents/' + encodeURIComponent(r.rest[0]));
    const ppc = i.ppc || {};
    const clocks = ppc.clocks || {};
    const rows = Object.keys(CLOCKS).filter((k) => clocks[k]).map((k) => {
      const c = clocks[k];
      const st = CLOCK_STATES[c.state] ? t(...CLOCK_STATES[c.state]) : c.state;
      return h('tr', {}, h('th', { scope: 'row' }, t(...CLOCKS[k])),
        h('td', {}, c.limit_at ? dt(c.limit_at) : (c.limit || '—')),
        h('td', { class: 'clock-' + c.state }, st),
        h('td', {}, c.limit_closed && c.prepare_by ? t(`期限日は閉庁日: ${c.prepare_by} までに準備`, `the limit is a closed day: prepare by ${c.prepare_by}`) : ''));
    });
    const tasks = i.tasks || [];
    return h('div', {},
      h('p', {}, h('a', { href: '#/incidents' }, t('← インシデント一覧', '← All incidents'))),
      h('h1', {}, `${i._id || i.id} ${i.title || ''}`),
      h('div', { class: 'panel' }, kv([
        [t('区分', 'Category'), incCategory(i.category)], [t('重大度', 'Severity'), sevBadge(i.severity)], [t('状態', 'Status'), incStatus(i.status)],
        [t('所属', 'Department'), i.dept], [t('認知日時', 'Aware at'), dt(i.aware_at || i.awareness)],
        [t('個人情報保護委員会への報告', 'Report to the PPC'), ppc.required === undefined ? '—' : (ppc.required ? t('必要', 'required') : t('不要', 'not required'))],
        [t('理由', 'Because'), (ppc.reasons || []).map((x) => x.label).join('、')],
      ])),
      h('h2', {}, t('法定の期限', 'Legal deadlines')),
      rows.length ? h('div', { class: 'panel' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, t('報告', 'Report')), h('th', {}, t('期限', 'Limit')), h('th', {}, t('状況', 'State')), h('th', {}, ''))), h('tbody', {}, rows)))
        : empty(t('期限はありません。', 'No deadline.')),
      h('p', {}, h('button', { type: 'button', onclick: () => download(`/v1/incidents/${encodeURIComponent(i._id || i.id)}/ppc-report?format=pdf`, `ppc-report-${i._id || i.id}.pdf`).catch((e) => toast(e.message)) },
        t('委員会への報告書の下書き（PDF）', 'Draft report to the PPC (PDF)'))),
      h('h2', {}, t('タスク', 'Tasks')),
      tasks.length ? h('ul', {}, tasks.map((x) => h('li', {}, `${x.title || x.text || ''}（${x.owner || '—'}、${x.due || '—'}）${x.status ? ' ' + x.status : ''}`)))
        : empty(t('タスクはありません。', 'No tasks.')),
      h('h2', {}, t('証拠', 'Evidence')),
      (i.evidence || []).length ? h('div', { class: 'panel' }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, t('種別', 'Type')), h('th', {}, t('名前', 'Name')), h('th', {}, 'SHA-256'), h('th', {}, t('参照', 'Reference')))),
        h('tbody', {}, (i.evidence || []).map((e) => h('tr', {}, h('td', {}, e.type), h('td', {}, e.name || '—'),
          h('td', {}, e.sha256 ? h('code', {}, e.sha256.slice(0, 16) + '…') : '—'),
          h('td', {}, e.alert_id ? h('a', { href: '#/alerts/' + e.alert_id }, t(`アラート #${e.alert_id}`, `alert #${e.alert_id}`))
            : (e.ledger_index !== undefined && e.ledger_index !== null ? t(`台帳 #${e.ledger_index}（証明つき）`, `ledger #${e.ledger_index} (with proof)`) : '—')))))))
        : empty(t('証拠はまだありません。', 'No evidence yet.')),
      h('h2', {}, t('経過', 'Timeline')),
      (i.timeline || []).length ? h('ul', {}, (i.timeline || []).map((e) => h('li', {}, `${dt(e.at || e._created)} ${e._created_by || ''} [${e.type}] ${e.text || ''}${e.party ? '（' + e.party + '）' : ''}`)))
        : empty(t('経過の記録はありません。', 'Nothing recorded yet.')),
      canWrite(user) && i.status !== 'closed' ? incidentActions(i) : null);
  }
  return h('div', {}, h('h1', {}, t('インシデント', 'Incidents')), dataTable({
    filters: [{ key: 'status', title: t('状態', 'Status'), type: 'select', options: INCIDENT_STATUS.map((x) => [x, incStatus(x)]) }],
    load: (p) => api.get('/v1/incidents' + qs(p)),
    sortable: false,
    csv: () => '/v1/reports/incidents' + qs({ format: 'csv' }),
    csvName: 'incidents',
    columns: [
      { key: '_id', title: 'ID', render: (x) => h('a', { href: '#/incidents/' + encodeURIComponent(x._id || x.id) }, x._id || x.id) },
      { key: 'title', title: t('件名', 'Title') },
      { key: 'category', title: t('区分', 'Category'), render: (x) => incCategory(x.category) },
      { key: 'severity', title: t('重大度', 'Severity'), render: (x) => sevBadge(x.severity) },
      { key: 'status', title: t('状態', 'Status'), render: (x) => incStatus(x.status) },
      { key: 'ppc', title: t('報告期限', 'Report clocks'), sort: false, render: (x) => (x.ppc && x.ppc.overdue ? h('span', { class: 'clock-overdue' }, t('超過あり', 'overdue')) : (x.ppc && x.ppc.required ? t('進行中', 'running') : '—')) },
    ],
  }));
}

// ---- ledger explorer ----

async function ledger(r, user) {
  const el = h('div', {}, h('h1', {}, t('監査台帳', 'The ledger')),
    h('p', { class: 'muted' }, t('すべての判定・アクセス・変更を記録した改ざん検知可能な台帳です。署名済みチェックポイントと外部の証人の連署で、過去の書換えを誰でも検出できます。',
      'Every decision, access and change, in a tamper-evident log. Signed checkpoints and outside witnesses\' cosignatures let anyone detect a rewrite of the past.')));
  el.append(part(t('最新のチェックポイント', 'Latest checkpoint'), async () => {
    const note = await api.get('/v1/ledger/checkpoint');
    const lines = String(note).split('\n');
    const sigs = lines.filter((l) => l.startsWith('— ') || l.startsWith('\u2014 '));
    return [kv([[t('発行元', 'Origin'), lines[0]], [t('件数', 'Tree size'), num(lines[1])], [t('ルートハッシュ', 'Root hash'), h('code', {}, lines[2])],
      [t('署名', 'Signatures'), sigs.map((s) => s.split(' ')[1]).join(', ')]]),
    h('details', {}, h('summary', {}, t('署名付きノート全文', 'The signed note')), h('pre', {}, note))];
  }));
  if (['admin', 'auditor', 'ciso', 'csirt'].includes(user.role)) {
    const out = h('div');
    el.append(h('h2', {}, t('検証', 'Verification')), h('p', {}, h('button', {
      type: 'button', class: 'primary',
      onclick: async (ev) => {
        ev.target.disabled = true;
        out.replaceChildren(h('p', { class: 'loading' }, t('検証中…（大きな台帳では数十秒かかります）', 'Verifying… (a large ledger takes tens of seconds)')));
        try {
          const v = await api.post('/v1/ledger/verify', {});
          out.replaceChildren(h('div', { class: v.ok ? 'ok-box' : 'error-box', role: 'status' },
            v.ok ? t(`${num(v.entries)} 件を検証しました。問題はありません。`, `Verified ${num(v.entries)} entries: all is well.`) : (v.message || t('不一致があります', 'A difference was found'))));
        } catch (e) { out.replaceChildren(errorBox(e)); }
        ev.target.disabled = false;
      },
    }, t('今すぐ検証する', 'Verify now'))), out);
  }
  const disc = h('div');
  el.append(h('h2', {}, t('住民への開示', 'Disclosure to a resident')),
    h('p', { class: 'muted' }, t('本人確認を済ませた住民の求めに応じて、誰がいつ記録を見たかを証明付きで出力します。出力は台帳に記録されます。',
      'For an identified resident: who looked at their record and when, with proofs. Every disclosure is itself recorded.')),
    form([
      { name: 'resident', label: t('住民 ID', 'Resident id'), required: true },
      { name: 'by', label: t('対応する職員 ID', 'Staff id making the disclosure'), required: true },
      { name: 'for', label: t('請求者', 'Requested by'), type: 'select', required: true, options: [['resident', t('本人', 'the resident')], ['proxy', t('代理人', 'a proxy')]] },
    ], t('開示文書を作る', 'Make the disclosure'), async (v) => {
      const path = `/v1/disclosure/${encodeURIComponent(v.resident)}` + qs({ by: v.by, for: v.for });
      const d = await api.get(path);
      const rows = d.accesses || d.entries || [];
      disc.replaceChildren(h('p', {}, t(`${num(rows.length)} 件のアクセス`, `${num(rows.length)} accesses`), ' ',
        h('button', { type: 'button', onclick: () => download(path, `disclosure-${v.resident}.json`).catch((e) => toast(e.message)) }, t('証明付きでダウンロード', 'Download with proofs'))),
      rows.length ? h('div', { class: 'panel' }, h('table', {}, h('tbody', {}, rows.slice(0, 200).map((x) => h('tr', {}, h('td', {}, dt(x.ts)), h('td', {}, x.staff_name || x.staff_id || '—'), h('td', {}, x.system || '—'), h('td', {}, x.case_id || x.explained_by || '—'))))))
        : empty(t('アクセスの記録はありません。', 'No access recorded.')));
    }), disc);
  return el;
}

// ---- reports ----

async function reports(r, user) {
  const list = [
    ['annual', t('年次情報セキュリティ報告書', 'Annual information-security report')],
    ['soa', t('適用宣言書（SoA）', 'Statement of Applicability')],
    ['incidents', t('インシデント台帳', 'Incident register')],
    ['audit-summary', t('監査結果の概要（公開用）', 'Audit summary (public)')],
    ['department', t('所属別の状況', 'Department status sheet')],
  ];
  return h('div', {}, h('h1', {}, t('報告書', 'Reports')),
    h('div', { class: 'panel' }, h('table', {}, h('tbody', {}, list.map(([id, title]) => h('tr', {}, h('th', { scope: 'row' }, title),
      ['html', 'pdf', 'csv'].map((fmt) => h('td', {}, h('button', {
        type: 'button',
        onclick: () => download(`/v1/reports/${id}` + qs({ format: fmt, dept: user.dept || '' }), `${id}.${fmt}`).catch((e) => toast(e.message)),
      }, fmt.toUpperCase())))))))));
}

export const pages = {
  '/': dashboard,
  '/alerts': alerts,
  '/incidents': incidents,
  '/ledger': ledger,
  '/people': people,
  '/assets': assets,
  '/documents': documents,
  '/audits': audits,
  '/contractors': contractors,
  '/continuity': continuity,
  '/violations': violations,
  '/reports': reports,
  '/record': recordPage,
};

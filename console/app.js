// app.js - the console's shell: who is signed in, the menu for their role,
// and a hash router that draws one page at a time into <main>.
import { t, lang, setLang, label } from './i18n.js';
import { api, setCsrf, ApiError } from './api.js';
import { h, errorBox } from './ui.js';
import { signInPage, setupPage, resumeSignIn } from './signin.js';
import { pages } from './pages.js';

export const session = { user: null, stage: '' };

// The menu: each entry names the roles that see it. The API enforces the
// same limits; hiding an entry only spares people pages they cannot use.
const STAFF = ['admin', 'ciso', 'csirt', 'dept_manager', 'auditor', 'personnel'];
const MENU = [
  { group: t('概要', 'Overview') },
  { path: '/', title: t('ダッシュボード', 'Dashboard'), roles: STAFF },
  { group: t('監視と対応', 'Watch and respond') },
  { path: '/alerts', title: t('アラート', 'Alerts'), roles: ['admin', 'ciso', 'csirt', 'dept_manager', 'auditor'] },
  { path: '/incidents', title: t('インシデント', 'Incidents'), roles: ['admin', 'ciso', 'csirt', 'dept_manager', 'auditor'] },
  { path: '/ledger', title: t('監査台帳', 'Ledger'), roles: ['admin', 'ciso', 'csirt', 'auditor'] },
  { group: t('ISMS', 'ISMS') },
  { path: '/people', title: t('職員と研修', 'People and training'), roles: STAFF },
  { path: '/assets', title: t('情報資産とリスク', 'Assets and risks'), roles: STAFF },
  { path: '/documents', title: t('ポリシー文書', 'Policy documents'), roles: STAFF },
  { path: '/audits', title: t('監査と是正処置', 'Audits and actions'), roles: STAFF },
  { path: '/contractors', title: t('委託先', 'Contractors'), roles: STAFF },
  { path: '/continuity', title: t('業務継続（ICT-BCP）', 'Continuity (ICT-BCP)'), roles: STAFF },
  { path: '/violations', title: t('違反と処分', 'Violations'), roles: ['personnel', 'admin', 'ciso'] },
  { path: '/reports', title: t('報告書', 'Reports'), roles: STAFF },
];

function routeOf() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  return { path: '/' + (parts[0] || ''), rest: parts.slice(1).map(decodeURIComponent), query: new URLSearchParams(query || '') };
}

function drawNav(active) {
  const nav = document.getElementById('nav');
  const role = session.user && session.user.role;
  const ul = h('ul');
  for (const m of MENU) {
    if (m.group) { ul.append(h('li', { class: 'group', 'aria-hidden': 'true' }, m.group)); continue; }
    if (!m.roles.includes(role)) continue;
    ul.append(h('li', {}, h('a', { href: '#' + m.path, 'aria-current': m.path === active ? 'page' : null }, m.title)));
  }
  nav.replaceChildren(ul);
  nav.hidden = false;
}

function drawHeader() {
  const who = document.getElementById('who');
  const out = document.getElementById('logout');
  document.getElementById('lang-toggle').textContent = lang() === 'en' ? '日本語' : 'English';
  document.getElementById('skip-link').textContent = t('本文へ移動', 'Skip to content');
  if (session.user) {
    who.textContent = `${session.user.name || session.user.login}（${label('role', session.user.role)}${session.user.dept ? ' ' + session.user.dept : ''}）`;
    out.hidden = false;
    out.textContent = t('ログアウト', 'Sign out');
  } else {
    who.textContent = '';
    out.hidden = true;
  }
}

async function loadSession() {
  try {
    const s = await api.get('/v1/auth/session');
    setCsrf(s.csrf_token || '');
    session.stage = s.stage || '';
    if (s.stage === 'full') {
      session.user = s;
      return true;
    }
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  }
  session.user = null;
  setCsrf('');
  return false;
}

let lastPage = '';

export async function render() {
  const main = document.getElementById('main');
  const r = routeOf();
  // Messages belong to the page they were shown on: they go when another
  // page opens, not when the same page is redrawn after a change.
  const pageKey = r.path + '/' + r.rest.join('/');
  if (pageKey !== lastPage) document.getElementById('toast').replaceChildren();
  lastPage = pageKey;
  drawHeader();
  if (r.path === '/setup') {
    document.getElementById('nav').hidden = true;
    main.replaceChildren(setupPage(r.query.get('token') || '', onSignedIn));
    return;
  }
  if (!session.user) {
    document.getElementById('nav').hidden = true;
    main.replaceChildren(session.stage === 'totp' || session.stage === 'enrol'
      ? resumeSignIn(session.stage, onSignedIn) : signInPage(onSignedIn));
    return;
  }
  drawNav(r.path);
  const page = pages[r.path];
  main.replaceChildren(h('p', { class: 'loading' }, t('読み込み中…', 'Loading…')));
  if (!page) {
    main.replaceChildren(h('h1', {}, t('ページがありません', 'No such page')),
      h('p', {}, h('a', { href: '#/' }, t('ダッシュボードへ戻る', 'Back to the dashboard'))));
    return;
  }
  try {
    const el = await page(r, session.user);
    main.replaceChildren(el);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session.user = null;
      render();
      return;
    }
    main.replaceChildren(errorBox(e));
  }
  main.focus();
}

async function onSignedIn() {
  await loadSession();
  if (location.hash.startsWith('#/setup')) location.hash = '#/';
  render();
}

async function start() {
  document.getElementById('lang-toggle').addEventListener('click', () => {
    setLang(lang() === 'en' ? 'ja' : 'en');
    location.reload();
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api.post('/v1/auth/logout', {}); } catch (e) { /* already out */ }
    session.user = null;
    setCsrf('');
    location.hash = '#/';
    render();
  });
  setLang(lang());
  try {
    await loadSession();
  } catch (e) {
    document.getElementById('main').replaceChildren(errorBox(e));
    return;
  }
  window.addEventListener('hashchange', render);
  render();
}

start();

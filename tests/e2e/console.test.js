// console.test.js - end-to-end tests of the web console in a real browser
// (Debian's chromium driven by playwright-core) against a real
// `mamori serve` on 127.0.0.1. Prints cmocka-style lines so that
// tests/run.sh counts the results with the unit and integration tests.
//
//   MAMORI_BIN=build/asan/mamori node tests/e2e/console.test.js
//
// Screenshots of each main page go to docs/screenshots/ (SCREENSHOTS=0 to
// skip). Bounded: every wait has a timeout, the whole run a deadline.
'use strict';
const { spawn, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(process.env.MAMORI_BIN || path.join(ROOT, 'build', 'mamori'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS === '0' ? null : path.join(ROOT, 'docs', 'screenshots');
const DEADLINE = Date.now() + 240000;

let pw;
try {
  pw = require(path.join(__dirname, 'node_modules', 'playwright-core'));
} catch (e) {
  console.log('[  FAILED  ] setup: playwright-core is not installed (cd tests/e2e && npm ci)');
  process.exit(1);
}

// ---- TOTP (RFC 6238, SHA-1, 6 digits, 30 s), computed independently ----
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) continue;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const code = ((mac.readUInt32BE(off) & 0x7fffffff) % 1000000).toString();
  return code.padStart(6, '0');
}
const stepNow = () => Math.floor(Date.now() / 30000);

// ---- the instance ----
function run(args, opts = {}) {
  return execFileSync(BIN, args, { encoding: 'utf8', env: Object.assign({}, process.env, { MAMORI_LANG: 'en' }), stdio: ['pipe', 'pipe', 'pipe'], timeout: 120000, ...opts });
}

function setupInstance() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mamori-e2e-'));
  const dir = path.join(base, 'inst'), data = path.join(base, 'data');
  run(['init', dir, '--name', 'テスト市']);
  run(['gen', '--scale', 'S', '--seed', '3', '--residents', '800', '--staff', '40', '--events', '3000', '--out', data, '--quiet']);
  run(['import', dir, data, '--quiet']);
  const depts = fs.readFileSync(path.join(data, 'departments.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id);
  const token = (login, role, dept) => {
    const args = ['user', 'add', dir, login, '--role', role];
    if (dept) args.push('--dept', dept);
    const out = run(args);
    const m = out.match(/token=([A-Za-z0-9_-]+)/);
    if (!m) throw new Error('no setup token in: ' + out);
    return m[1];
  };
  return { base, dir, data, depts, token };
}

function startServer(dir) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['serve', dir, '--listen', '127.0.0.1:0'], { env: Object.assign({}, process.env, { MAMORI_LANG: 'en' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 30000);
    p.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve({ proc: p, url: m[1] }); }
    });
    p.stderr.on('data', () => {});
    p.once('exit', (c) => reject(new Error('server exited ' + c + ': ' + out)));
  });
}

// ---- a tiny runner ----
const results = [];
async function test(name, fn) {
  if (Date.now() > DEADLINE) { console.log(`[  FAILED  ] ${name}: deadline passed`); results.push(false); return; }
  console.log(`[ RUN      ] ${name}`);
  try {
    await fn();
    console.log(`[       OK ] ${name}`);
    results.push(true);
  } catch (e) {
    console.log(`[  ERROR   ] --- ${e && e.stack ? e.stack : e}`);
    console.log(`[  FAILED  ] ${name}`);
    results.push(false);
  }
}
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: false });
}

// Set a password through the one-time link and enrol the authenticator;
// returns the TOTP secret and the step last used.
async function firstSignIn(page, url, token, password) {
  await page.goto(`${url}/console/#/setup?token=${token}`);
  await page.getByLabel(/^New password \(required\)|^新しいパスワード（必須）/).fill(password);
  await page.getByLabel(/again|確認/).fill(password);
  await page.getByRole('button', { name: /Set password|設定する/ }).click();
  const secret = (await page.locator('#totp-secret').textContent({ timeout: 15000 })).trim();
  assert(/^[A-Z2-7]{16,}$/.test(secret), 'a base32 TOTP secret is shown: ' + secret);
  const step = stepNow();
  await page.getByLabel(/6-digit code|6 桁のコード/).fill(totp(secret, step));
  await page.getByRole('button', { name: /Confirm|登録する/ }).click();
  const codes = await page.locator('#recovery-codes').textContent({ timeout: 15000 });
  assert(codes.trim().split('\n').length >= 8, 'recovery codes are shown once');
  await page.getByRole('button', { name: /Continue|続ける/ }).click();
  await page.locator('h1', { hasText: /Dashboard|ダッシュボード/ }).waitFor({ timeout: 15000 });
  return { secret, step };
}

async function signIn(page, url, login, password, secret, lastStep) {
  await page.goto(`${url}/console/`);
  await page.getByLabel(/^Login|^ログイン名/).fill(login);
  await page.getByLabel(/^Password|^パスワード/).fill(password);
  await page.getByRole('button', { name: /^Next$|^次へ$/ }).click();
  // A code may be used once: wait for the next 30-second step if needed.
  while (stepNow() <= lastStep) await page.waitForTimeout(500);
  const step = stepNow();
  await page.getByLabel(/6-digit code|6 桁/).fill(totp(secret, step));
  await page.getByRole('button', { name: /^Sign in$|^サインイン$/ }).click();
  await page.locator('h1', { hasText: /Dashboard|ダッシュボード/ }).waitFor({ timeout: 15000 });
  return step;
}

// fetch inside the page, with the session's cookie and CSRF token.
async function pageFetch(page, method, p, body) {
  return page.evaluate(async ([method, p, body]) => {
    const s = await (await fetch('/v1/auth/session')).json();
    const r = await fetch(p, { method, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token || '' }, body: body ? JSON.stringify(body) : undefined });
    let j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    return { status: r.status, body: j };
  }, [method, p, body]);
}

(async () => {
  let inst, srv, browser;
  const PW = 'correct horse battery staple';
  try {
    inst = setupInstance();
    const tAdmin = inst.token('admin1', 'admin');
    const tAud = inst.token('auditor1', 'auditor');
    const tMgr = inst.token('mgr1', 'dept_manager', inst.depts[0]);
    srv = await startServer(inst.dir);
    // Events that raise alerts, through the ledger, seen by the watcher.
    run(['ingest', inst.dir, path.join(inst.data, 'access.jsonl'), '--quiet']);
    browser = await pw.chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'ja-JP', acceptDownloads: true });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    let admin;

    await test('console_first_sign_in_with_totp', async () => {
      admin = await firstSignIn(page, srv.url, tAdmin, PW);
      await shot(page, 'dashboard');
      const cards = await page.locator('.card').count();
      assert(cards >= 2, 'the dashboard shows its figures: ' + cards);
    });

    let alertId = null;
    await test('console_triage_alert', async () => {
      // Alerts appear within a second of ingestion; give the watcher a bounded while.
      for (let i = 0; i < 40 && !alertId; i++) {
        const r = await pageFetch(page, 'GET', '/v1/alerts?status=open&per_page=5');
        if (r.status === 200 && r.body.alerts && r.body.alerts.length) alertId = r.body.alerts[0].id;
        else await page.waitForTimeout(500);
      }
      assert(alertId, 'an alert was raised from the ingested events');
      await page.goto(`${srv.url}/console/#/alerts`);
      await page.locator('table tbody tr').first().waitFor();
      await shot(page, 'alerts');
      // The list exports to CSV (UTF-8 with a BOM, a header row).
      {
        const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /CSV/ }).click()]);
        const text = fs.readFileSync(await dl.path(), 'utf8');
        assert(text.charCodeAt(0) === 0xfeff, 'the CSV starts with a BOM');
        const lines = text.trim().split('\r\n');
        assert(lines.length >= 2 && lines[0].includes('ID'), 'a header and rows: ' + lines.length);
      }
      await page.goto(`${srv.url}/console/#/alerts/${encodeURIComponent(alertId)}`);
      await page.getByLabel(/^判定|^Decision/).selectOption('confirmed');
      await page.getByLabel(/^理由|^Reason/).fill('本人に確認し、業務上の必要がないことを確認した');
      await page.getByRole('button', { name: /記録する|Record/ }).click();
      await page.locator('#toast .msg').first().waitFor();
      const r = await pageFetch(page, 'GET', '/v1/alerts/' + encodeURIComponent(alertId));
      assert(r.body.status === 'confirmed', 'the triage was stored: ' + JSON.stringify(r.body.status));
      await shot(page, 'alert');
    });

    await test('console_escalate_to_incident', async () => {
      await page.goto(`${srv.url}/console/#/alerts/${encodeURIComponent(alertId)}`);
      await page.getByRole('button', { name: /インシデントとして起票|Escalate/ }).click();
      await page.waitForURL(/#\/incidents\//);
      await page.locator('h2', { hasText: /法定の期限|Legal deadlines/ }).waitFor();
      assert(await page.locator('main .error-box').count() === 0, 'the incident page has no error');
      assert(await page.locator('td.clock-running, td.clock-due_soon, td.clock-overdue').count() >= 1, 'the PPC clocks run');
      await shot(page, 'incident');
      // The CSIRT records what it does on the timeline.
      await page.getByLabel(/^内容|^Text/).fill('本人への聞き取りを実施した');
      await page.getByRole('button', { name: /^記録する$|^Record$/ }).click();
      await page.locator('li', { hasText: '本人への聞き取りを実施した' }).waitFor();
      const list = await pageFetch(page, 'GET', '/v1/incidents');
      assert(list.status === 200 && (list.body.total || (list.body.items || []).length) >= 1, 'the incident exists');
    });

    for (const [p, name] of [['/ledger', 'ledger'], ['/people', 'people'], ['/assets', 'assets'], ['/documents', 'documents'], ['/audits', 'audits'], ['/contractors', 'contractors'], ['/continuity', 'continuity'], ['/reports', 'reports']]) {
      await test('console_page_' + name, async () => {
        await page.goto(`${srv.url}/console/#${p}`);
        await page.locator('main h1').waitFor();
        await page.waitForLoadState('networkidle');
        assert(await page.locator('main .error-box').count() === 0, `${p} has no error: ` + (await page.locator('main .error-box').allTextContents()).join(' | '));
        await shot(page, name);
      });
    }

    await test('console_download_report', async () => {
      await page.goto(`${srv.url}/console/#/reports`);
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }), page.locator('tr', { hasText: /年次|Annual/ }).getByRole('button', { name: 'PDF' }).click()]);
      const file = await dl.path();
      const head = fs.readFileSync(file).subarray(0, 5).toString();
      assert(head === '%PDF-', 'a PDF was downloaded: ' + head);
    });

    await test('console_sign_out_and_in_again', async () => {
      await page.getByRole('button', { name: /ログアウト|Sign out/ }).click();
      await page.getByLabel(/^ログイン名|^Login/).waitFor();
      await signIn(page, srv.url, 'admin1', PW, admin.secret, admin.step);
    });

    await test('console_dept_manager_sees_only_own_department', async () => {
      const c2 = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'ja-JP' });
      const p2 = await c2.newPage();
      p2.setDefaultTimeout(15000);
      await firstSignIn(p2, srv.url, tMgr, PW);
      const mine = await pageFetch(p2, 'GET', '/v1/alerts?per_page=100');
      assert(mine.status === 200, 'a manager lists alerts');
      for (const a of mine.body.alerts || []) assert(a.dept === inst.depts[0], 'only their department: ' + a.dept);
      const other = await pageFetch(p2, 'GET', '/v1/alerts?per_page=100&dept=' + encodeURIComponent(inst.depts[1]));
      assert(other.status === 403 || (other.body.alerts || []).every((a) => a.dept === inst.depts[0]), 'another department is refused: ' + other.status);
      const w = await pageFetch(p2, 'POST', '/v1/admin/reload');
      assert(w.status === 403, 'a manager cannot reload the policy: ' + w.status);
      await c2.close();
    });

    await test('console_auditor_reads_but_never_writes', async () => {
      const c3 = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'ja-JP' });
      const p3 = await c3.newPage();
      p3.setDefaultTimeout(15000);
      await firstSignIn(p3, srv.url, tAud, PW);
      const read = await pageFetch(p3, 'GET', '/v1/alerts?per_page=5');
      assert(read.status === 200, 'an auditor reads alerts');
      await p3.goto(`${srv.url}/console/#/alerts/${encodeURIComponent(alertId)}`);
      await p3.locator('main h1').waitFor();
      assert(await p3.getByRole('button', { name: /記録する|Record/ }).count() === 0, 'no triage form for an auditor');
      const w = await pageFetch(p3, 'POST', '/v1/alerts/' + encodeURIComponent(alertId), { status: 'open' });
      assert(w.status === 403, 'the API refuses an auditor\'s triage: ' + w.status);
      const w2 = await pageFetch(p3, 'POST', '/v1/isms/assets', { name: 'x' });
      assert(w2.status === 403, 'the API refuses an auditor\'s new asset: ' + w2.status);
      await c3.close();
    });
  } catch (e) {
    console.log('[  ERROR   ] --- ' + (e && e.stack ? e.stack : e));
    console.log('[  FAILED  ] e2e_setup');
    results.push(false);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (srv) {
      // Wait for the server to finish its last writes before the files go.
      const gone = new Promise((resolve) => { srv.proc.once('exit', resolve); setTimeout(resolve, 15000); });
      srv.proc.kill('SIGTERM');
      await gone;
    }
    if (inst && results.every(Boolean)) {
      try { fs.rmSync(inst.base, { recursive: true, force: true }); } catch (e) { console.log('note: could not remove ' + inst.base + ': ' + e.message); }
    }
  }
  const failed = results.filter((x) => !x).length;
  console.log(`[==========] ${results.length} test(s) run.`);
  console.log(`[  PASSED  ] ${results.length - failed} test(s).`);
  if (failed) console.log(`[  FAILED  ] ${failed} test(s).`);
  process.exit(failed ? 1 : 0);
})();

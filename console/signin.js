// signin.js - sign-in with password and TOTP, first-time set-up through a
// one-time link, and enrolment of the authenticator (QR code).
import { t } from './i18n.js';
import { api, setCsrf } from './api.js';
import { h, form } from './ui.js';

function box(title, ...children) {
  return h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, title), ...children);
}

// The step the server asks for next, from its answer to a sign-in step.
// Each step answers {"stage": "totp"|"enrol"|"full", "csrf_token": ...}: the
// session cookie is set at once, but it signs nothing in until "full".
function nextStep(res) {
  if (res && res.csrf_token) setCsrf(res.csrf_token);
  if (res && (res.stage === 'totp' || res.stage === 'enrol')) return res.stage;
  return 'done';
}

// Continue a sign-in that stopped half-way (reloaded page).
export function resumeSignIn(stage, done) {
  return stage === 'enrol' ? enrolStep(done) : totpStep(done);
}

export function signInPage(done) {
  const holder = h('div');
  const go = (step) => {
    if (step === 'totp') holder.replaceChildren(totpStep(done));
    else if (step === 'enrol') holder.replaceChildren(enrolStep(done));
    else done();
  };
  holder.append(box(t('mamori にサインイン', 'Sign in to mamori'),
    h('p', { class: 'muted' }, t('職員のアカウントと認証アプリ（TOTP）でサインインします。',
      'Sign in with your account and your authenticator app (TOTP).')),
    form([
      { name: 'login', label: t('ログイン名', 'Login'), required: true, autocomplete: 'username' },
      { name: 'password', label: t('パスワード', 'Password'), type: 'password', required: true, autocomplete: 'current-password' },
    ], t('次へ', 'Next'), async (v) => {
      const res = await api.post('/v1/auth/login', { login: v.login, password: v.password });
      go(nextStep(res));
    })));
  return holder;
}

function totpStep(done) {
  let useRecovery = false;
  const holder = h('div');
  const draw = () => {
    const fields = useRecovery
      ? [{ name: 'recovery_code', label: t('リカバリーコード', 'Recovery code'), required: true }]
      : [{ name: 'code', label: t('認証アプリの 6 桁のコード', '6-digit code from your authenticator'), required: true, inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}' }];
    holder.replaceChildren(box(t('2 段階認証', 'Two-step verification'),
      form(fields, t('サインイン', 'Sign in'), async (v) => {
        nextStep(await api.post('/v1/auth/totp', v));
        done();
      }),
      h('p', {}, h('button', { type: 'button', class: 'link', onclick: () => { useRecovery = !useRecovery; draw(); } },
        useRecovery ? t('認証アプリのコードを使う', 'Use a code from the app')
          : t('認証アプリが使えない場合（リカバリーコード）', 'Cannot use the app? Use a recovery code')))));
  };
  draw();
  return holder;
}

function enrolStep(done) {
  const holder = h('div', {}, h('p', { class: 'loading' }, t('準備中…', 'Preparing…')));
  (async () => {
    let e;
    try {
      e = await api.get('/v1/auth/enrol');
    } catch (err) {
      holder.replaceChildren(box(t('認証アプリの登録', 'Set up your authenticator'), h('div', { class: 'error-box' }, err.message)));
      return;
    }
    // The QR code is an SVG made by the server; shown as an image so that
    // it can never run as part of the page.
    const img = e.qr_svg || e.svg
      ? h('img', { src: 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(e.qr_svg || e.svg))), alt: t('認証アプリ用の QR コード', 'QR code for the authenticator app'), width: 220, height: 220 })
      : null;
    holder.replaceChildren(box(t('認証アプリの登録', 'Set up your authenticator'),
      h('p', {}, t('スマートフォンの認証アプリで QR コードを読み取り、表示された 6 桁のコードを入力してください。',
        'Scan the QR code with the authenticator app on your phone, then enter the 6-digit code it shows.')),
      img ? h('div', { class: 'qr' }, img) : null,
      h('p', {}, t('読み取れない場合はこのキーを入力: ', 'Or type this key: '), h('code', { id: 'totp-secret' }, e.secret || '')),
      form([{ name: 'code', label: t('6 桁のコード', '6-digit code'), required: true, inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 }],
        t('登録する', 'Confirm'), async (v) => {
          const res = await api.post('/v1/auth/enrol', { code: v.code });
          nextStep(res);
          const codes = (res && (res.recovery_codes || res.codes)) || [];
          if (!codes.length) { done(); return; }
          holder.replaceChildren(box(t('リカバリーコード', 'Recovery codes'),
            h('p', {}, t('認証アプリが使えないときに 1 回ずつ使えます。今すぐ印刷するか安全な場所に保管してください。二度と表示されません。',
              'Each works once when you cannot use the app. Print them or store them safely now: they will not be shown again.')),
            h('pre', { id: 'recovery-codes' }, codes.join('\n')),
            h('button', { type: 'button', class: 'primary', onclick: done }, t('保管しました。続ける', 'I have stored them. Continue'))));
        })));
  })();
  return holder;
}

export function setupPage(token, done) {
  const holder = h('div');
  holder.append(box(t('アカウントの初期設定', 'Set up your account'),
    h('p', {}, t('パスワードは 12 文字以上で、ログイン名と異なるものにしてください。',
      'Choose a password of at least 12 characters, different from your login.')),
    form([
      { name: 'password', label: t('新しいパスワード', 'New password'), type: 'password', required: true, autocomplete: 'new-password' },
      { name: 'password2', label: t('新しいパスワード（確認）', 'New password (again)'), type: 'password', required: true, autocomplete: 'new-password' },
    ], t('設定する', 'Set password'), async (v) => {
      if (v.password !== v.password2) {
        const err = new Error(t('2 つのパスワードが一致しません', 'The two passwords differ'));
        throw err;
      }
      const res = await api.post('/v1/auth/setup', { token, password: v.password });
      const step = nextStep(res);
      if (step === 'enrol' || step === 'done') holder.replaceChildren(enrolStep(done));
      else holder.replaceChildren(totpStep(done));
    })));
  return holder;
}

// i18n.js - every text a person reads exists in Japanese and English, side
// by side where it is used: t('日本語', 'English'). Japanese is the default;
// the choice is kept in the browser.
const KEY = 'mamori.lang';

export function lang() {
  try {
    return localStorage.getItem(KEY) === 'en' ? 'en' : 'ja';
  } catch (e) {
    return 'ja';
  }
}

export function setLang(l) {
  try { localStorage.setItem(KEY, l === 'en' ? 'en' : 'ja'); } catch (e) { /* private mode */ }
  document.documentElement.lang = l === 'en' ? 'en' : 'ja';
}

export function t(ja, en) {
  return lang() === 'en' ? en : ja;
}

// Numbers and dates as people in Japan read them.
export function num(n) {
  if (n === null || n === undefined || n === '') return '—';
  return Number(n).toLocaleString(lang() === 'en' ? 'en-US' : 'ja-JP');
}

export function pct(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return (Number(x) * 100).toFixed(digits) + '%';
}

export function dt(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toLocaleString(lang() === 'en' ? 'en-GB' : 'ja-JP', { timeZone: 'Asia/Tokyo' });
}

// Labels of values the API returns as codes.
const LABELS = {
  severity: { critical: ['重大', 'critical'], high: ['高', 'high'], medium: ['中', 'medium'], low: ['低', 'low'], info: ['情報', 'info'] },
  status: {
    open: ['未対応', 'open'], confirmed: ['確認済み（不正）', 'confirmed'], false_positive: ['誤検知', 'false positive'],
    escalated: ['インシデント化', 'escalated'], draft: ['下書き', 'draft'], approved: ['承認済み', 'approved'],
    retired: ['廃止', 'retired'], closed: ['終結', 'closed'], active: ['有効', 'active'],
  },
  rule: {
    'W-UNEXPLAINED': ['業務上の理由が見当たらないアクセス', 'access that nothing in the registry explains'],
    'W-DV-SUPPORT': ['担当外の DV 等支援措置対象者へのアクセス', 'access to a DV support resident without an assigned case'],
    'W-RELATIVE': ['親族（同一世帯・同姓同住所）へのアクセス', 'access to a relative (same household, or same surname and address)'],
    'W-NEIGHBOUR': ['同じ住所の別世帯（近隣）へのアクセス', 'access to a neighbour (same address, another household)'],
    'W-FLAGGED': ['要人・職員関係者の記録への担当外アクセス', 'access to a vip or staff-flagged resident without an assigned case'],
    'W-BULK-SCAN': ['同僚を大きく上回る件数の連続閲覧', 'bulk or sequential scanning far above peers'],
    'W-OFF-HOURS': ['承認された時間外勤務のない時間外アクセス', 'access outside office hours without approved overtime'],
    'W-AFTER-END': ['在職期間外（退職後など）のアクセス', 'access outside the period of employment'],
    'W-UNTRAINED': ['研修の有効期限切れ・未受講でのアクセス', 'access without current security training'],
    'W-NO-PLEDGE': ['誓約書未提出でのアクセス', 'access without a signed pledge'],
    'W-EXPORT-VOLUME': ['同僚を大きく上回る件数の出力', 'exports far above peers'],
    'W-PRINT-VOLUME': ['同僚を大きく上回る件数の印刷', 'prints far above peers'],
    'W-SEARCH-NO-FOLLOWUP': ['業務の続かない氏名検索の多発', 'many name searches with no business follow-up'],
  },
  role: {
    admin: ['情報セキュリティ担当', 'security office'], ciso: ['CISO', 'CISO'], csirt: ['CSIRT', 'CSIRT'],
    dept_manager: ['所属長（情報セキュリティ管理者）', 'department manager'], auditor: ['監査人', 'auditor'],
    personnel: ['人事担当', 'personnel'], system: ['業務システム', 'business system'], witness: ['証人', 'witness'],
  },
};

export function label(group, code) {
  const g = LABELS[group];
  if (!g || !g[code]) return code === undefined || code === null ? '—' : String(code);
  return t(g[code][0], g[code][1]);
}

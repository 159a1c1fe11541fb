#!/usr/bin/env node
// plainjs_bench.js - the default decision policy (FORMATS.md, rules 1-9)
// hand-coded in plain JavaScript over pre-built facts: the ceiling
// reference for what an interpreter-free engine in one JS thread reaches.
// Facts are pre-built once (role bits, zone sets, department system sets,
// days as integers); the per-request look-ups of staff, resident, system
// and cases in Maps are inside the timed loop. The result of a decision is
// a bitmask of reasons (as mamori's decide() fills a struct); it is turned
// into the output line after timing.
'use strict';
const C = require('./common');

// Reason bits, in the order the lines list them.
const DENY_CODES = ['unknown_staff', 'unknown_system', 'unknown_resident', 'not_employed',
  'training_expired', 'no_pledge', 'zone', 'mfa_required', 'system_not_permitted',
  'role_missing', 'dv_support', 'no_case'];
const D = {};
DENY_CODES.forEach((c, i) => { D[c] = 1 << i; });
const WARN_NO_CASE = 1 << 20;
const ALERT = 1 << 21;

const ROLE_CLERK = 1, ROLE_EXPORT = 2, ROLE_DV = 4;

function build(ds) {
  const f = { staff: new Map(), residents: new Map(), systems: new Map(), cases: ds.cases };
  for (const [id, s] of ds.staff) {
    const d = ds.depts.get(s.dept);
    let roles = 0;
    if (s.roles.includes('clerk')) roles |= ROLE_CLERK;
    if (s.roles.includes('mynumber_export')) roles |= ROLE_EXPORT;
    if (s.roles.includes('dv_support_handler')) roles |= ROLE_DV;
    f.staff.set(id, { id, dept: s.dept, roles, zones: new Set(s.zones),
      deptSystems: new Set(d ? d.systems : []),
      start: s.start === null ? Infinity : s.start, end: s.end === null ? Infinity : s.end,
      training: s.training === null ? -Infinity : s.training,
      pledge: s.pledge === null ? Infinity : s.pledge });
  }
  for (const [id, r] of ds.residents) f.residents.set(id, { id, dv: r.flags.includes('dv_support') });
  for (const [id, s] of ds.systems) f.systems.set(id, { id, zone: s.zone, mynumber: s.zone === 'mynumber', enforce: s.ntk === 'enforce' });
  return f;
}

function decide(f, rq) {
  let m = 0;
  const st = f.staff.get(rq.staff_id);
  const sys = f.systems.get(rq.system);
  let res;
  if (st === undefined) m |= D.unknown_staff;
  if (sys === undefined) m |= D.unknown_system;
  if (rq.resident_id !== null) {
    res = f.residents.get(rq.resident_id);
    if (res === undefined) m |= D.unknown_resident;
  } else if (rq.action !== 'search') {
    m |= D.unknown_resident;
  }
  // Every decision on a DV support record carries the alert, even a deny
  // for another reason.
  if (res !== undefined && res.dv) m |= ALERT;
  if (st === undefined || sys === undefined) return m;
  const ts = rq.ts;
  const day = Math.floor((ts + C.JST) / C.DAY);
  if (day < st.start || day > st.end) m |= D.not_employed;
  if (st.training < day - 365) m |= D.training_expired;
  if (st.pledge > day) m |= D.no_pledge;
  if (rq.zone !== sys.zone || !st.zones.has(rq.zone)) m |= D.zone;
  if (rq.zone === 'mynumber' && !rq.mfa) m |= D.mfa_required;
  if (!st.deptSystems.has(sys.id)) m |= D.system_not_permitted;
  if (!(st.roles & ROLE_CLERK) || (rq.action === 'export' && sys.mynumber && !(st.roles & ROLE_EXPORT)))
    m |= D.role_missing;
  if (res === undefined) return m;
  const cases = f.cases.get(res.id);
  if (res.dv) {
    let ok = false;
    if ((st.roles & ROLE_DV) && cases !== undefined) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i];
        if (c.assigned_to === st.id && c.opened <= ts && (c.closed === null || c.closed + C.GRACE >= ts)) { ok = true; break; }
      }
    }
    if (!ok) m |= D.dv_support;
  }
  if (rq.action !== 'search') {
    let ok = false;
    if (cases !== undefined) {
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i];
        if (c.dept === st.dept && c.opened <= ts && (c.closed === null || c.closed + C.GRACE >= ts)) { ok = true; break; }
      }
    }
    if (!ok) m |= sys.enforce ? D.no_case : (WARN_NO_CASE | ALERT);
  }
  return m;
}

function render(m) {
  let line = (m & ((1 << DENY_CODES.length) - 1)) ? 'deny' : 'allow';
  if (m & ALERT) line += ' alert';
  for (let i = 0; i < DENY_CODES.length; i++) if (m & (1 << i)) line += ' deny:' + DENY_CODES[i];
  if (m & WARN_NO_CASE) line += ' warn:no_case';
  return line;
}

module.exports = { build, decide, render };
if (require.main === module) C.runMain('plainjs', build, decide, render);

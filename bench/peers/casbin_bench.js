#!/usr/bin/env node
// casbin_bench.js - the default decision policy through Casbin (npm casbin):
// model in casbin/model.conf, policy lines built from the dataset
// (role -> action, staff -> role, department -> system). Each request's
// look-ups of staff, resident and system in Maps and the building of the
// request objects are inside the timed loop, as mamori's own look-ups are.
// Casbin answers allow/deny only, so its lines carry the decision alone.
'use strict';
const fs = require('fs');
const path = require('path');
const { newEnforcer, newModelFromString } = require('casbin');
const C = require('./common');

const NO_DAY_HI = 1e9, NO_DAY_LO = -1e9;

async function build(ds) {
  const model = newModelFromString(fs.readFileSync(path.join(__dirname, 'casbin', 'model.conf'), 'utf8'));
  const e = await newEnforcer(model);
  const actions = ['search', 'view', 'update', 'print', 'export'];
  await e.addPolicies(actions.map((a) => ['clerk', a]));
  const g = [], g2 = [];
  for (const s of ds.staff.values()) for (const r of s.roles) g.push([s.id, r]);
  for (const d of ds.depts.values()) for (const sy of d.systems) g2.push([d.id, sy]);
  if (g.length) await e.addNamedGroupingPolicies('g', g);
  if (g2.length) await e.addNamedGroupingPolicies('g2', g2);
  await e.addFunction('hasItem', (list, x) => list.includes(x));
  await e.addFunction('ntkCase', (rid, dept, ts) => {
    const l = ds.cases.get(rid);
    if (l) for (const c of l) if (c.dept === dept && C.caseLive(c, ts)) return true;
    return false;
  });
  await e.addFunction('dvCase', (rid, sid, ts) => {
    const l = ds.cases.get(rid);
    if (l) for (const c of l) if (c.assigned_to === sid && C.caseLive(c, ts)) return true;
    return false;
  });
  // Attribute objects: dates as day numbers, absent dates as bounds that fail
  // (or pass, for a null end) the comparisons.
  const staff = new Map();
  for (const s of ds.staff.values()) {
    staff.set(s.id, { known: true, id: s.id, dept: s.dept, zones: s.zones,
      start: s.start === null ? NO_DAY_HI : s.start, end: s.end === null ? NO_DAY_HI : s.end,
      training: s.training === null ? NO_DAY_LO : s.training,
      pledge: s.pledge === null ? NO_DAY_HI : s.pledge });
  }
  const residents = new Map();
  for (const r of ds.residents.values())
    residents.set(r.id, { known: true, none: false, id: r.id, dv: r.flags.includes('dv_support') });
  const systems = new Map();
  for (const s of ds.systems.values()) systems.set(s.id, { known: true, id: s.id, zone: s.zone, ntk: s.ntk });
  return { e, staff, residents, systems };
}

const UNKNOWN = { known: false, id: '', none: true, dv: false };
const NO_RESIDENT = { known: true, none: true, id: '', dv: false };

function decide(f, rq) {
  const sub = f.staff.get(rq.staff_id) || UNKNOWN;
  const sys = f.systems.get(rq.system) || UNKNOWN;
  let res;
  if (rq.resident_id === null) res = rq.action === 'search' ? NO_RESIDENT : UNKNOWN;
  else res = f.residents.get(rq.resident_id) || UNKNOWN;
  const env = { zone: rq.zone, mfa: rq.mfa, ts: rq.ts, day: C.jstDay(rq.ts) };
  return f.e.enforceSync(sub, res, sys, rq.action, env) ? 'allow' : 'deny';
}

C.runMain('casbin', build, decide);

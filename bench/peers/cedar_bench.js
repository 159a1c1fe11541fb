#!/usr/bin/env node
// cedar_bench.js - the default decision policy through Cedar
// (npm @cedar-policy/cedar-wasm, its Node.js build), policies in
// cedar/policy.cedar, preparsed once (preparsePolicySet) and evaluated with
// statefulIsAuthorized.
//
// Fairness: the entity JSON of each staff member and resident is pre-built
// once (as mamori's decider pre-builds its tables); per request, inside the
// timed loop, the engine looks up staff, resident and system in Maps, scans
// the resident's cases for the ones live at ts (Cedar has no quantifier over
// a set of records, so this filter is done in JS and handed over as two
// sets in the context; the rules that use them are in Cedar), and builds the
// call. The crossing into wasm (serialisation of the call) is part of what
// Cedar costs and is timed.
'use strict';
const fs = require('fs');
const path = require('path');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');
const C = require('./common');

const PSET = 'mamori';
const NO_DAY_HI = 1e9, NO_DAY_LO = -1e9;

function splitPolicies(text) {
  // policySetTextToParts loses the @id annotations as ids; key each policy
  // by its @id so that diagnostics name the rule.
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error('policy.cedar: ' + JSON.stringify(parts.errors));
  const out = {};
  for (const p of parts.policies) {
    const m = /@id\("([^"]+)"\)/.exec(p);
    if (!m) throw new Error('policy.cedar: a policy without @id');
    out[m[1]] = p;
  }
  return out;
}

function build(ds) {
  const text = fs.readFileSync(path.join(__dirname, 'cedar', 'policy.cedar'), 'utf8');
  const pre = cedar.preparsePolicySet(PSET, { staticPolicies: splitPolicies(text) });
  if (pre.type !== 'success') throw new Error('policy.cedar: ' + JSON.stringify(pre.errors));
  const staff = new Map();
  for (const s of ds.staff.values()) {
    const d = ds.depts.get(s.dept);
    staff.set(s.id, { uid: { type: 'Staff', id: s.id }, parents: [], attrs: {
      known: true, id: s.id, dept: s.dept, roles: s.roles, zones: s.zones,
      dept_systems: d ? d.systems : [],
      start: s.start === null ? NO_DAY_HI : s.start, end: s.end === null ? NO_DAY_HI : s.end,
      training: s.training === null ? NO_DAY_LO : s.training,
      pledge: s.pledge === null ? NO_DAY_HI : s.pledge } });
  }
  const residents = new Map();
  for (const r of ds.residents.values()) {
    residents.set(r.id, { uid: { type: 'Resident', id: r.id }, parents: [],
      attrs: { known: true, none: false, dv: r.flags.includes('dv_support') } });
  }
  const systems = new Map();
  for (const s of ds.systems.values()) systems.set(s.id, { known: true, id: s.id, zone: s.zone, ntk: s.ntk });
  return { staff, residents, systems, cases: ds.cases };
}

const UNKNOWN_STAFF_ATTRS = { known: false, id: '', dept: '', roles: [], zones: [], dept_systems: [],
  start: 0, end: 0, training: 0, pledge: 0 };
const UNKNOWN_SYSTEM = { known: false, id: '', zone: '', ntk: '' };

function decide(f, rq) {
  const st = f.staff.get(rq.staff_id) ||
    { uid: { type: 'Staff', id: rq.staff_id }, parents: [], attrs: UNKNOWN_STAFF_ATTRS };
  const sys = f.systems.get(rq.system) || UNKNOWN_SYSTEM;
  let res;
  if (rq.resident_id === null) {
    res = { uid: { type: 'Resident', id: '' }, parents: [],
      attrs: { known: rq.action === 'search', none: true, dv: false } };
  } else {
    res = f.residents.get(rq.resident_id) ||
      { uid: { type: 'Resident', id: rq.resident_id }, parents: [], attrs: { known: false, none: true, dv: false } };
  }
  const depts = [], assignees = [];
  const l = rq.resident_id === null ? undefined : f.cases.get(rq.resident_id);
  if (l) for (const c of l) {
    if (!C.caseLive(c, rq.ts)) continue;
    depts.push(c.dept);
    if (c.assigned_to !== null) assignees.push(c.assigned_to);
  }
  const ans = cedar.statefulIsAuthorized({
    principal: st.uid, action: { type: 'Action', id: rq.action }, resource: res.uid,
    context: { day: C.jstDay(rq.ts), zone: rq.zone, mfa: rq.mfa, sys,
      case_depts: depts, case_assignees: assignees },
    preparsedPolicySetId: PSET, entities: [st, res],
  });
  if (ans.type !== 'success') throw new Error('cedar: ' + JSON.stringify(ans.errors));
  const r = ans.response;
  if (r.diagnostics.errors.length) throw new Error('cedar: ' + JSON.stringify(r.diagnostics.errors));
  const ids = r.diagnostics.reason;
  if (r.decision === 'deny') {
    let line = 'deny';
    for (const id of ids) line += ' deny:' + id;
    return line;
  }
  let line = 'allow';
  if (ids.includes('alert_dv') || ids.includes('warn_no_case')) line += ' alert';
  if (ids.includes('warn_no_case')) line += ' warn:no_case';
  return line;
}

C.runMain('cedar', build, decide);

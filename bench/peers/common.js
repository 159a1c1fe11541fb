// common.js - what the peer benchmarks share: reading a FORMATS.md dataset,
// reading the requests file, the output line format, and timing.
//
// Output line format (one per request, in order), shared with bench_decide.c:
//   allow|deny [alert] [deny:CODE ...] [warn:CODE ...]
// An engine that cannot name reasons or obligations writes the decision only;
// compare.js then compares the decision alone for that engine.
'use strict';
const fs = require('fs');
const path = require('path');

const DAY = 86400;
const JST = 9 * 3600;
const GRACE = 7 * 24 * 3600;

// Days since 1970-01-01 of a YYYY-MM-DD date; null for null.
function dayOf(s) {
  if (s == null) return null;
  const t = Date.parse(s + 'T00:00:00Z');
  if (Number.isNaN(t)) throw new Error('not a date: ' + s);
  return Math.floor(t / 86400000);
}
// Seconds since the epoch of an RFC 3339 timestamp; null for null.
function tsOf(s) {
  if (s == null) return null;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error('not a timestamp: ' + s);
  return Math.floor(t / 1000);
}
// The JST calendar day of an epoch second.
function jstDay(ts) { return Math.floor((ts + JST) / DAY); }

// Stream a JSON Lines file in 16 MiB chunks (files of M scale and beyond
// exceed what one JS string may hold) and call fn(object, lineno).
function readJsonl(file, fn) {
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(16 << 20);
  let rest = Buffer.alloc(0), lineno = 0;
  const one = (b) => {
    lineno++;
    const line = b.toString('utf8');
    if (line.trim() === '') return;
    let o;
    try { o = JSON.parse(line); } catch (e) {
      throw new Error(`${path.basename(file)}:${lineno}: not JSON: ${e.message}`);
    }
    fn(o, lineno);
  };
  try {
    for (;;) {
      const got = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      const buf = rest.length ? Buffer.concat([rest, chunk.subarray(0, got)]) : chunk.subarray(0, got);
      let start = 0, nl;
      while ((nl = buf.indexOf(10, start)) >= 0) { one(buf.subarray(start, nl)); start = nl + 1; }
      rest = Buffer.from(buf.subarray(start));
    }
    if (rest.length) one(rest);
  } finally {
    fs.closeSync(fd);
  }
}

// The dataset as plain objects, indexed by id. Cases are grouped by resident.
function loadDataset(dir) {
  const ds = { systems: new Map(), depts: new Map(), staff: new Map(),
    residents: new Map(), cases: new Map() };
  readJsonl(path.join(dir, 'systems.jsonl'), (o) => ds.systems.set(o.id, {
    id: o.id, zone: o.zone, ntk: o.need_to_know === 'enforce' ? 'enforce' : 'monitor' }));
  readJsonl(path.join(dir, 'departments.jsonl'), (o) => ds.depts.set(o.id, {
    id: o.id, systems: o.systems || [] }));
  readJsonl(path.join(dir, 'staff.jsonl'), (o) => ds.staff.set(o.id, {
    id: o.id, dept: o.dept, roles: o.roles || [], zones: o.zones || [],
    start: dayOf(o.start), end: dayOf(o.end), training: dayOf(o.training),
    pledge: dayOf(o.pledge) }));
  readJsonl(path.join(dir, 'residents.jsonl'), (o) => ds.residents.set(o.id, {
    id: o.id, flags: o.flags || [] }));
  readJsonl(path.join(dir, 'cases.jsonl'), (o) => {
    const c = { id: o.id, dept: o.dept, assigned_to: o.assigned_to == null ? null : o.assigned_to,
      opened: tsOf(o.opened), closed: tsOf(o.closed) };
    const l = ds.cases.get(o.resident_id);
    if (l) l.push(c); else ds.cases.set(o.resident_id, [c]);
  });
  return ds;
}

// Requests, parsed before timing starts (as bench_decide.c does): ts is in
// epoch seconds.
function loadRequests(file) {
  const rqs = [];
  readJsonl(file, (o) => {
    rqs.push({ staff_id: o.staff_id, action: o.action,
      resident_id: o.resident_id == null ? null : o.resident_id,
      system: o.system, zone: o.zone, terminal: o.terminal == null ? null : o.terminal,
      mfa: o.mfa === true, case_id: o.case_id == null ? null : o.case_id,
      ts: o.ts == null ? Math.floor(Date.now() / 1000) : tsOf(o.ts) });
  });
  return rqs;
}

// Is case c live at ts: opened at or before ts, and open at ts or closed at
// most 7 x 24 h before it.
function caseLive(c, ts) {
  return c.opened <= ts && (c.closed === null || c.closed + GRACE >= ts);
}

function parseArgs(argv) {
  const a = { data: null, requests: null, out: null, repeat: 1 };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--data') { a.data = v; i++; }
    else if (k === '--requests') { a.requests = v; i++; }
    else if (k === '--out') { a.out = v; i++; }
    else if (k === '--repeat') { a.repeat = Number(v); i++; }
    else throw new Error('unknown argument: ' + k);
  }
  if (!a.data || !a.requests) throw new Error('usage: --data DIR --requests FILE [--out FILE] [--repeat N]');
  if (!Number.isInteger(a.repeat) || a.repeat < 1 || a.repeat > 100) throw new Error('--repeat: 1..100');
  return a;
}

// Run fn over all requests `repeat` times; keep the fastest pass. fn(rq)
// returns the engine's result; render(result) turns it into the output line
// after the clock has stopped (mamori renders its lines outside the timed
// loop too).
function timeAll(rqs, repeat, fn, render) {
  const results = new Array(rqs.length);
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < rqs.length; i++) results[i] = fn(rqs[i]);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (dt < best) best = dt;
  }
  const lines = render ? results.map(render) : results;
  return { lines, seconds: best, rate: rqs.length / best };
}

function finish(name, args, rqs, res) {
  if (args.out) fs.writeFileSync(args.out, res.lines.join('\n') + '\n');
  // One machine-readable line for run.sh.
  process.stdout.write(`${name} requests=${rqs.length} seconds=${res.seconds.toFixed(4)} ` +
    `decisions_per_s=${Math.round(res.rate)}\n`);
}

// The whole life of one peer benchmark: load, build the engine's facts
// (build may be async), time every request, write the results.
async function runBench(name, build, decide, render) {
  const args = parseArgs(process.argv);
  const ds = loadDataset(args.data);
  const rqs = loadRequests(args.requests);
  const f = await build(ds);
  const res = timeAll(rqs, args.repeat, (rq) => decide(f, rq), render);
  finish(name, args, rqs, res);
}

function runMain(name, build, decide, render) {
  runBench(name, build, decide, render).catch((err) => {
    process.stderr.write(String((err && err.stack) || err) + '\n');
    process.exit(1);
  });
}

module.exports = { DAY, JST, GRACE, dayOf, tsOf, jstDay, loadDataset, loadRequests,
  caseLive, parseArgs, timeAll, finish, runMain };

#!/usr/bin/env node
// compare.js - compare decision files line by line.
//
//   node bench/compare.js --requests FILE REF=FILE[:LEVEL] NAME=FILE[:LEVEL]...
//
// The first engine is the reference; each other engine is compared with it
// at the level the other engine can express:
//   decision  allow/deny only (Casbin)
//   obl       decision and the alert obligation
//   cedar     decision; on allow also alert and warn codes; on deny the deny
//             codes (Cedar's diagnostics name the determining policies only)
//   full      decision, alert and every reason code (order-insensitive)
// Prints the agreement per engine and the first 10 disagreements with their
// request; exits 1 when any engine disagrees.
'use strict';
const fs = require('fs');

function parse(line) {
  const t = line.trim().split(/\s+/);
  const r = { decision: t[0], alert: false, deny: [], warn: [] };
  for (const x of t.slice(1)) {
    if (x === 'alert') r.alert = true;
    else if (x.startsWith('deny:')) r.deny.push(x.slice(5));
    else if (x.startsWith('warn:')) r.warn.push(x.slice(5));
  }
  r.deny.sort(); r.warn.sort();
  return r;
}

function view(r, level) {
  if (level === 'decision') return r.decision;
  if (level === 'obl') return r.decision + (r.alert ? ' alert' : '');
  if (level === 'cedar' && r.decision === 'deny') return 'deny ' + r.deny.join(',');
  return `${r.decision}${r.alert ? ' alert' : ''} deny=${r.deny.join(',')} warn=${r.warn.join(',')}`;
}

let requests = null;
const engines = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--requests') { requests = process.argv[++i]; continue; }
  const m = /^([^=]+)=([^:]+)(?::(decision|obl|cedar|full))?$/.exec(a);
  if (!m) { process.stderr.write('bad argument: ' + a + '\n'); process.exit(2); }
  engines.push({ name: m[1], file: m[2], level: m[3] || 'full' });
}
if (engines.length < 2) { process.stderr.write('usage: compare.js [--requests F] REF=F[:LEVEL] NAME=F[:LEVEL]...\n'); process.exit(2); }
const read = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '');
const rq = requests ? read(requests) : null;
const ref = engines[0];
const refLines = read(ref.file);
let bad = false;
for (const e of engines.slice(1)) {
  const lines = read(e.file);
  let agree = 0, shown = 0;
  const n = Math.max(lines.length, refLines.length);
  for (let i = 0; i < n; i++) {
    const a = refLines[i] === undefined ? '(missing)' : view(parse(refLines[i]), e.level);
    const b = lines[i] === undefined ? '(missing)' : view(parse(lines[i]), e.level);
    if (a === b) { agree++; continue; }
    if (shown++ < 10) {
      process.stdout.write(`  line ${i + 1}: ${ref.name}: ${a} | ${e.name}: ${b}\n`);
      if (rq && rq[i]) process.stdout.write(`    request: ${rq[i]}\n`);
    }
  }
  if (agree !== n) bad = true;
  process.stdout.write(`agreement ${e.name} vs ${ref.name} (${e.level}): ${agree}/${n}` +
    (agree === n ? ' all agree\n' : ` ${n - agree} DISAGREE\n`));
}
process.exit(bad ? 1 : 0);

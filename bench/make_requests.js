#!/usr/bin/env node
// make_requests.js - turn the access events of a dataset (access.jsonl, FORMATS.md)
// into decide requests (the decision contract), one JSON object per line.
//
//   node bench/make_requests.js --data DIR [--n 1000000] [--seed 1] [--out FILE]
//
// The first N events become N requests, in order. mfa is true except for a
// few percent of requests, chosen by a seeded xorshift generator so that the
// same dataset, N and seed always give the same file byte for byte.
'use strict';
const fs = require('fs');
const readline = require('readline');
const path = require('path');

function usage(msg) {
  if (msg) process.stderr.write(msg + '\n');
  process.stderr.write('usage: make_requests.js --data DIR [--n N] [--seed S] [--out FILE]\n');
  process.exit(2);
}

const args = { n: 1000000, seed: 1, out: null, data: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--n') { args.n = Number(v); i++; }
  else if (a === '--seed') { args.seed = Number(v); i++; }
  else if (a === '--out') { args.out = v; i++; }
  else if (a === '--data') { args.data = v; i++; }
  else usage('unknown argument: ' + a);
}
if (!args.data) usage('--data is required');
if (!Number.isInteger(args.n) || args.n < 1 || args.n > 100000000) usage('--n: 1..100000000');
if (!Number.isInteger(args.seed)) usage('--seed: an integer');

// xorshift32, never zero.
let state = (args.seed >>> 0) || 0x9e3779b9;
function next() {
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return state;
}
const MFA_OFF_PER_MILLE = 30; // 3 % of requests come without MFA.

const out = args.out ? fs.createWriteStream(args.out) : process.stdout;
const input = fs.createReadStream(path.join(args.data, 'access.jsonl'));
const rl = readline.createInterface({ input, crlfDelay: Infinity });
let n = 0, lineno = 0;
let chunk = [];
rl.on('line', (line) => {
  lineno++;
  // Stop reading a large file (10^7 events at M scale) once N are taken.
  if (n >= args.n) { rl.close(); input.destroy(); return; }
  if (line.trim() === '') return;
  let ev;
  try { ev = JSON.parse(line); } catch (e) {
    process.stderr.write(`access.jsonl:${lineno}: not JSON: ${e.message}\n`);
    process.exit(1);
  }
  const rq = {
    staff_id: ev.staff_id,
    action: ev.action,
    resident_id: ev.resident_id == null ? null : ev.resident_id,
    system: ev.system,
    zone: ev.zone,
    terminal: ev.terminal == null ? null : ev.terminal,
    mfa: (next() % 1000) >= MFA_OFF_PER_MILLE,
    case_id: ev.case_id == null ? null : ev.case_id,
    ts: ev.ts,
  };
  chunk.push(JSON.stringify(rq));
  n++;
  if (chunk.length >= 4096) { out.write(chunk.join('\n') + '\n'); chunk = []; }
});
rl.on('close', () => {
  if (chunk.length) out.write(chunk.join('\n') + '\n');
  if (out !== process.stdout) out.end();
  process.stderr.write(`make_requests: ${n} requests\n`);
});

#!/usr/bin/env node
// duckdb_compare.js - do mamori and DuckDB flag the same events?
//
//   node bench/peers/duckdb_compare.js --mamori ALERTS.jsonl --duckdb FLAGGED.tsv
//
// ALERTS.jsonl is `mamori audit DIR --events FILE --json` (one alert per
// line, with "code" and "refs"); FLAGGED.tsv is duckdb_audit.js's output
// ("CODE<TAB>REF" per flagged event). For every rule that FLAGGED.tsv
// covers, the two sets of (rule, ref) must be equal: the eight rules of
// `--rules shared`, or all thirteen when it was written with `--rules all`
// (any of the five content and scanning rules present). Prints one line
// per rule and exits 1 on any difference.
'use strict';

const fs = require('fs');
const readline = require('readline');

const SHARED = ['W-AFTER-END', 'W-UNTRAINED', 'W-NO-PLEDGE', 'W-OFF-HOURS', 'W-DV-SUPPORT',
  'W-EXPORT-VOLUME', 'W-PRINT-VOLUME', 'W-SEARCH-NO-FOLLOWUP'];
const CONTENT = ['W-UNEXPLAINED', 'W-RELATIVE', 'W-NEIGHBOUR', 'W-FLAGGED', 'W-BULK-SCAN'];

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    if (v[i] === '--mamori') a.mamori = v[i + 1];
    else if (v[i] === '--duckdb') a.duckdb = v[i + 1];
    else throw new Error(`unknown argument ${v[i]}`);
  }
  if (!a.mamori || !a.duckdb) throw new Error('usage: duckdb_compare.js --mamori ALERTS.jsonl --duckdb FLAGGED.tsv');
  return a;
}

async function lines(file, fn) {
  const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line) fn(line);
}

async function main() {
  const a = args();
  const m = new Map(), d = new Map();
  for (const c of SHARED.concat(CONTENT)) {
    m.set(c, new Set());
    d.set(c, new Set());
  }
  await lines(a.mamori, (line) => {
    const o = JSON.parse(line);
    if (!m.has(o.code)) m.set(o.code, new Set());
    for (const r of o.refs) m.get(o.code).add(r);
  });
  await lines(a.duckdb, (line) => {
    const [code, ref] = line.split('\t');
    if (!d.has(code)) throw new Error(`unexpected rule ${code} in ${a.duckdb}`);
    d.get(code).add(ref);
  });
  const all = CONTENT.some((c) => d.get(c).size > 0);
  const compared = all ? SHARED.concat(CONTENT) : SHARED;
  let bad = 0, total = 0;
  console.log('| rule | mamori | DuckDB | only mamori | only DuckDB |');
  console.log('|---|---:|---:|---:|---:|');
  for (const c of compared) {
    const x = m.get(c), y = d.get(c);
    const onlyM = [...x].filter((r) => !y.has(r)), onlyD = [...y].filter((r) => !x.has(r));
    bad += onlyM.length + onlyD.length;
    total += x.size;
    console.log(`| ${c} | ${x.size} | ${y.size} | ${onlyM.length} | ${onlyD.length} |`);
    if (onlyM.length) console.log(`  only mamori, e.g. ${onlyM.slice(0, 5).join(' ')}`);
    if (onlyD.length) console.log(`  only DuckDB, e.g. ${onlyD.slice(0, 5).join(' ')}`);
  }
  if (!all)
    for (const c of CONTENT)
      console.log(`| ${c} | ${m.get(c).size} | (not run: --rules shared) | - | - |`);
  console.log(bad ? `watch agreement: DIFFER (${bad} events)` :
    `watch agreement: same ${total} flagged events on ${compared.length} rules`);
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  console.error(`duckdb_compare: ${e.message}`);
  process.exit(2);
});

#!/usr/bin/env node
// duckdb_audit.js - the watch rules written as SQL, run by DuckDB over the
// same files as `mamori audit DIR --events FILE` (BENCHMARKS.md, "watch"):
// the registry files and access.jsonl of a generated dataset.
//
//   node bench/peers/duckdb_audit.js --data DIR [--events FILE] --out FILE
//        [--rules shared|all] [--labels FILE] [--threads N]
//        [--memory-limit 12GB] [--max-temp 20GB] [--thresholds JSON] [--profile]
//
// Writes one line per flagged event, "CODE<TAB>REF", sorted; prints a
// result line "events=N seconds=S events_per_s=R" and, with --labels, the
// precision and recall of a plain "same-department case" rule (the
// decision-time need-to-know check written as one SQL query) against the
// generator's labels.
//
// --rules shared (the default) states the eight rules that need no
// explanation of the access, exactly as docs/watch.md defines them:
//   W-AFTER-END, W-UNTRAINED, W-NO-PLEDGE, W-OFF-HOURS (with the Japanese
//   holiday calendar and approved overtime), W-DV-SUPPORT, W-EXPORT-VOLUME,
//   W-PRINT-VOLUME, W-SEARCH-NO-FOLLOWUP (the last three with peer medians:
//   group, else department, else everyone active that day).
// --rules all adds the other five, so that both engines run every rule:
//   the explanation of each access (joins of the events with the
//   resident's cases and the household's, then the namesake step with
//   window functions: the last surname search of the person that day, at
//   most namesake_max namesakes per search, ended by the first update,
//   print or export of a resident of that surname), then W-UNEXPLAINED,
//   W-RELATIVE, W-NEIGHBOUR and W-FLAGGED in the engine's order, and
//   W-BULK-SCAN (distinct residents in a sliding window per access, the
//   day's most against the peer median, the windows above the threshold
//   extended over runs of accesses not tied to the day's work at most
//   scan_gap apart: gaps and islands).
'use strict';

const fs = require('fs');
const path = require('path');
const { DuckDBInstance } = require('@duckdb/node-api');

function args() {
  const a = { threads: '1', memoryLimit: null };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i++) {
    const k = v[i];
    const next = () => {
      if (i + 1 >= v.length) throw new Error(`${k} needs a value`);
      return v[++i];
    };
    if (k === '--data') a.data = next();
    else if (k === '--events') a.events = next();
    else if (k === '--out') a.out = next();
    else if (k === '--labels') a.labels = next();
    else if (k === '--threads') a.threads = next();
    else if (k === '--memory-limit') a.memoryLimit = next();
    else if (k === '--thresholds') a.thresholds = JSON.parse(next());
    else if (k === '--rules') a.rules = next();
    else if (k === '--profile') a.profile = true;
    else if (k === '--max-temp') a.maxTemp = next();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.data || !a.out) throw new Error('usage: duckdb_audit.js --data DIR [--events FILE] --out FILE [--labels FILE] [--threads N]');
  if (!a.events) a.events = path.join(a.data, 'access.jsonl');
  if (!a.rules) a.rules = 'shared';
  if (a.rules !== 'shared' && a.rules !== 'all') throw new Error('--rules: shared or all');
  return a;
}

// National holidays (国民の祝日, 振替休日, 国民の休日) of 2025-2027, from the
// Cabinet Office list. The office is also closed on weekends and 12/29-1/3.
const HOLIDAYS = [
  '2025-01-01', '2025-01-13', '2025-02-11', '2025-02-23', '2025-02-24', '2025-03-20',
  '2025-04-29', '2025-05-03', '2025-05-04', '2025-05-05', '2025-05-06', '2025-07-21',
  '2025-08-11', '2025-09-15', '2025-09-23', '2025-10-13', '2025-11-03', '2025-11-23',
  '2025-11-24',
  '2026-01-01', '2026-01-12', '2026-02-11', '2026-02-23', '2026-03-20', '2026-04-29',
  '2026-05-03', '2026-05-04', '2026-05-05', '2026-05-06', '2026-07-20', '2026-08-11',
  '2026-09-21', '2026-09-22', '2026-09-23', '2026-10-12', '2026-11-03', '2026-11-23',
  '2027-01-01', '2027-01-11', '2027-02-11', '2027-02-23', '2027-03-21', '2027-03-22',
  '2027-04-29', '2027-05-03', '2027-05-04', '2027-05-05', '2027-07-19', '2027-08-11',
  '2027-09-20', '2027-09-23', '2027-10-11', '2027-11-03', '2027-11-23',
];

// Thresholds: the defaults of docs/watch.md, under the names of the policy
// file's watch: section (durations and office hours in seconds here).
// --thresholds '{"print_floor":1,...}' overrides them, for running both
// engines with the same non-default section.
const T = {
  case_grace: 7 * 86400, counter_flow: 30 * 60, office_open: 8 * 3600 + 45 * 60,
  office_close: 17 * 3600 + 30 * 60, training_valid_days: 365, export_floor: 10,
  export_factor: 4, print_floor: 60, print_factor: 4, search_followup: 600, search_floor: 10,
  search_factor: 4, min_peers: 3, recent_case: 86400, scan_window: 3600, scan_gap: 300,
  scan_floor: 30, scan_factor: 4, namesake_window: 3600, namesake_max: 10,
};

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

async function main() {
  const a = args();
  for (const [k, v] of Object.entries(a.thresholds || {})) {
    if (!(k in T) || typeof v !== 'number') throw new Error(`--thresholds: bad entry ${k}`);
    T[k] = v;
  }
  const t0 = process.hrtime.bigint();
  const opts = { threads: String(a.threads) };
  if (a.memoryLimit) opts.memory_limit = a.memoryLimit;
  // DuckDB's default spill limit is 90 % of the free disk: --max-temp
  // bounds it (at L scale the spill of --rules all runs to tens of GB).
  if (a.maxTemp) opts.max_temp_directory_size = a.maxTemp;
  // What does not fit in memory_limit spills here (DuckDB's default is
  // ./.tmp, i.e. the working tree): under build/, which is ignored.
  opts.temp_directory = require('path').join(__dirname, '..', '..', 'build', 'duckdb-tmp');
  const db = await DuckDBInstance.create(':memory:', opts);
  const conn = await db.connect();
  // --profile: the seconds of each statement on stderr.
  let tStep = process.hrtime.bigint();
  const c = {
    run: async (sql) => {
      const r = await conn.run(sql);
      if (a.profile) {
        const now = process.hrtime.bigint();
        console.error(`${(Number(now - tStep) / 1e9).toFixed(2)} s  ${sql.trim().split('\n')[0].slice(0, 60)}`);
        tStep = now;
      }
      return r;
    },
    runAndReadAll: (sql) => conn.runAndReadAll(sql),
  };
  const f = (name) => q(path.join(a.data, name));
  const days = (col) => `(${col} - DATE '1970-01-01')`;
  // Epoch seconds, JST day number and second of the JST day.
  const es = (col) => `epoch(${col})::BIGINT`;

  // --rules all reads the columns the content and scanning rules need too.
  const all = a.rules === 'all';
  await c.run(`CREATE TABLE staff AS SELECT id, dept,
      dept || '|' || array_to_string(list_sort(roles), ',') AS grp,
      ${days('start')} AS sd, ${days('"end"')} AS ed, ${days('training')} AS td, ${days('pledge')} AS pd
      ${all ? ', surname, address_id AS addr, household_id AS hh' : ''}
    FROM read_json(${f('staff.jsonl')}, format='newline_delimited',
      columns={id:'VARCHAR', dept:'VARCHAR', roles:'VARCHAR[]', start:'DATE', "end":'DATE',
               training:'DATE', pledge:'DATE'
               ${all ? ", surname:'VARCHAR', address_id:'VARCHAR', household_id:'VARCHAR'" : ''}})`);
  await c.run(`CREATE TABLE res AS SELECT id, list_contains(flags, 'dv_support') AS dv
      ${all ? `, list_contains(flags, 'vip') OR list_contains(flags, 'staff') AS fl,
               surname, address_id AS addr, household_id AS hh` : ''}
    FROM read_json(${f('residents.jsonl')}, format='newline_delimited',
      columns={id:'VARCHAR', flags:'VARCHAR[]'
               ${all ? ", surname:'VARCHAR', address_id:'VARCHAR', household_id:'VARCHAR'" : ''}})`);
  await c.run(`CREATE TABLE cases AS SELECT resident_id, dept, assigned_to,
      ${es('opened')} AS os, ${es('closed')} AS cs ${all ? ', id' : ''}
    FROM read_json(${f('cases.jsonl')}, format='newline_delimited',
      columns={resident_id:'VARCHAR', dept:'VARCHAR', assigned_to:'VARCHAR',
               opened:'TIMESTAMPTZ', closed:'TIMESTAMPTZ' ${all ? ", id:'VARCHAR'" : ''}})`);
  await c.run(`CREATE TABLE ot AS SELECT staff_id, ${es('start')} AS s, ${es('"end"')} AS e
    FROM read_json(${f('overtime.jsonl')}, format='newline_delimited',
      columns={staff_id:'VARCHAR', start:'TIMESTAMPTZ', "end":'TIMESTAMPTZ'})`);
  await c.run(`CREATE TABLE hol AS SELECT (d::DATE - DATE '1970-01-01') AS jd
    FROM (VALUES ${HOLIDAYS.map((d) => `(${q(d)})`).join(',')}) v(d)`);
  // The events, numbered in file order (a tie-break within one second).
  await c.run(`CREATE TABLE ev AS SELECT line, staff_id, resident_id, action, query, ref,
      es, (es + 32400) // 86400 AS jd, (es + 32400) % 86400 AS sod ${all ? ', case_id' : ''}
    FROM (SELECT row_number() OVER () AS line, staff_id, resident_id, action, query, ref,
                 ${es('ts')} AS es ${all ? ', case_id' : ''}
          FROM read_json(${q(a.events)}, format='newline_delimited',
            columns={ts:'TIMESTAMPTZ', staff_id:'VARCHAR', resident_id:'VARCHAR',
                     action:'VARCHAR', query:'VARCHAR', ref:'VARCHAR'
                     ${all ? ", case_id:'VARCHAR'" : ''}}))`);
  const tLoad = process.hrtime.bigint();

  // The office is closed on weekends (day 0, 1970-01-01, was a Thursday),
  // national holidays and 12/29-1/3.
  const closedDay = (x) => `((${x} + 4) % 7 IN (0, 6) OR ${x} IN (SELECT jd FROM hol)
      OR (month(DATE '1970-01-01' + ${x}::INTEGER) = 12 AND day(DATE '1970-01-01' + ${x}::INTEGER) >= 29)
      OR (month(DATE '1970-01-01' + ${x}::INTEGER) = 1 AND day(DATE '1970-01-01' + ${x}::INTEGER) <= 3))`;
  const perEvent = `
    SELECT 'W-AFTER-END' AS code, e.ref FROM ev e LEFT JOIN staff s ON s.id = e.staff_id
      WHERE s.id IS NULL OR e.jd < s.sd OR (s.ed IS NOT NULL AND e.jd > s.ed)
    UNION ALL
    SELECT 'W-UNTRAINED', e.ref FROM ev e JOIN staff s ON s.id = e.staff_id
      WHERE s.td IS NULL OR s.td > e.jd OR e.jd - s.td > ${T.training_valid_days}
    UNION ALL
    SELECT 'W-NO-PLEDGE', e.ref FROM ev e JOIN staff s ON s.id = e.staff_id
      WHERE s.pd IS NULL OR s.pd > e.jd
    UNION ALL
    SELECT 'W-OFF-HOURS', e.ref FROM ev e JOIN staff s ON s.id = e.staff_id
      WHERE (${closedDay('e.jd')} OR e.sod < ${T.office_open} OR e.sod >= ${T.office_close})
        AND NOT EXISTS (SELECT 1 FROM ot WHERE ot.staff_id = e.staff_id AND ot.s <= e.es AND e.es < ot.e)
    UNION ALL
    SELECT 'W-DV-SUPPORT', e.ref FROM ev e JOIN staff s ON s.id = e.staff_id
        JOIN res r ON r.id = e.resident_id
      WHERE r.dv AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.resident_id = e.resident_id
          AND c.assigned_to = e.staff_id AND c.os - ${T.counter_flow} <= e.es
          AND (c.cs IS NULL OR e.es <= c.cs + ${T.case_grace}))`;

  // --rules all: the content rules and the scanning rule, as far as SQL
  // states them. The explanation is every built-in one but the namesake
  // step (a per-person state machine over the stream; see the head of
  // this file): a case assigned to the person or declared by the system,
  // live (opened at most counter_flow after the access, closed at most
  // case_grace before it); an open case of the department; one closed
  // less than case_grace ago; one opened at most counter_flow after the
  // access; an open case of another member of the household in the
  // department opened less than recent_case ago. Without the namesake
  // step, a look that finds the right person among namesakes is
  // unexplained here.
  let contentRules = '';
  if (all) {
    const live = `c.os - ${T.counter_flow} <= a.es AND (c.cs IS NULL OR a.es <= c.cs + ${T.case_grace})`;
    const open = 'c.os <= a.es AND (c.cs IS NULL OR a.es <= c.cs)';
    await c.run(`CREATE TABLE acc AS SELECT e.line, e.staff_id, e.resident_id, e.case_id, e.es,
        e.jd, e.action, e.ref, s.dept, s.surname AS ssur, s.addr AS saddr, s.hh AS shh,
        r.id IS NOT NULL AS known, coalesce(r.dv, false) AS dv, coalesce(r.fl, false) AS fl,
        r.hh, r.addr, r.surname
      FROM ev e JOIN staff s ON s.id = e.staff_id LEFT JOIN res r ON r.id = e.resident_id
      WHERE e.resident_id IS NOT NULL`);
    await c.run(`CREATE TABLE cev AS SELECT a.line,
        bool_or(c.assigned_to = a.staff_id AND ${live}) AS asg,
        bool_or(c.assigned_to = a.staff_id AND ${live} AND (c.cs IS NULL OR a.es <= c.cs)) AS asg_s,
        bool_or(c.id = a.case_id AND ${live}) AS decl,
        bool_or(c.id = a.case_id AND ${live} AND (c.cs IS NULL OR a.es <= c.cs)) AS decl_s,
        bool_or(c.dept = a.dept AND ${open}) AS dopen,
        bool_or(c.dept = a.dept AND ${open} AND a.es - c.os <= ${T.recent_case}) AS dopen_s,
        bool_or(c.dept = a.dept AND c.cs < a.es AND a.es <= c.cs + ${T.case_grace}) AS dgrace,
        bool_or(c.dept = a.dept AND c.os > a.es AND c.os - a.es <= ${T.counter_flow}) AS ctr
      FROM acc a JOIN cases c ON c.resident_id = a.resident_id
      WHERE c.assigned_to = a.staff_id OR c.id = a.case_id OR c.dept = a.dept
      GROUP BY a.line`);
    await c.run(`CREATE TABLE hev AS SELECT DISTINCT a.line
      FROM acc a LEFT JOIN cev x USING (line)
        JOIN res m ON m.hh = a.hh AND m.id <> a.resident_id
        JOIN cases c ON c.resident_id = m.id AND c.dept = a.dept
      WHERE a.known AND NOT coalesce(x.asg OR x.decl OR x.dopen OR x.dgrace OR x.ctr, false)
        AND ${open} AND a.es - c.os <= ${T.recent_case}`);
    await c.run(`CREATE TABLE vd AS SELECT a.line, a.staff_id, a.resident_id, a.jd, a.es,
          a.action, a.ref, a.known, a.dv, a.fl,
          coalesce(x.asg, false) AS asg, coalesce(x.decl, false) AS decl,
          coalesce(x.asg OR x.decl OR x.dopen OR x.dgrace OR x.ctr, false) OR h.line IS NOT NULL AS expl,
          coalesce(x.asg_s, false) OR coalesce(x.decl_s, false) OR coalesce(x.dopen_s, false)
            OR coalesce(x.ctr, false) OR h.line IS NOT NULL AS strong,
          a.known AND (coalesce(a.shh = a.hh, false) OR
            (coalesce(a.saddr = a.addr, false) AND coalesce(a.surname = a.ssur, false))) AS rel,
          a.known AND NOT coalesce(a.shh = a.hh, false) AND coalesce(a.saddr = a.addr, false)
            AND NOT coalesce(a.surname = a.ssur, false) AS nb
        FROM acc a LEFT JOIN cev x USING (line) LEFT JOIN hev h USING (line)`);
    // What no later statement reads goes, so that its spill (at L scale
    // the tables outgrow memory_limit) can be reused.
    await c.run('DROP TABLE cev');
    await c.run('DROP TABLE hev');
    await c.run('DROP TABLE acc');
    // The namesake step, with window functions: the last search with a
    // query by the same person that day; a look at a resident of that
    // surname within namesake_window of it, not explained by a case, is
    // explained, for the first namesake_max of them, until the first
    // update, print or export of a resident of that surname after the
    // search.
    await c.run(`CREATE TABLE nsk AS
      WITH o AS (SELECT e.line, e.staff_id, e.jd, e.es, e.action, e.resident_id, e.query,
            e.resident_id IS NULL AND e.action = 'search' AND e.query IS NOT NULL AS srch,
            coalesce(v.known AND NOT v.expl, false) AS open, r.surname
          FROM ev e JOIN staff s ON s.id = e.staff_id LEFT JOIN vd v USING (line)
            LEFT JOIN res r ON r.id = e.resident_id
          -- Only searches, unexplained looks and the accesses that may
          -- end a search's effect matter here.
          WHERE (e.resident_id IS NULL AND e.action = 'search' AND e.query IS NOT NULL)
             OR coalesce(v.known AND NOT v.expl, false)
             OR (e.resident_id IS NOT NULL AND e.action IN ('update', 'print', 'export'))),
        g AS (SELECT *,
            last_value(CASE WHEN srch THEN line END IGNORE NULLS) OVER w AS sid,
            last_value(CASE WHEN srch THEN es END IGNORE NULLS) OVER w AS ses,
            last_value(CASE WHEN srch THEN query END IGNORE NULLS) OVER w AS sq
          FROM o WINDOW w AS (PARTITION BY staff_id, jd ORDER BY es, line ROWS UNBOUNDED PRECEDING)),
        h AS (SELECT *, coalesce(max((action IN ('update', 'print', 'export')
              AND coalesce(surname = sq, false))::INT) OVER (PARTITION BY staff_id, jd, sid
              ORDER BY es, line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS ended
          FROM g WHERE sid IS NOT NULL)
      SELECT line FROM (SELECT line, row_number() OVER (PARTITION BY staff_id, jd, sid
            ORDER BY es, line) AS k
          FROM h WHERE open AND es - ses <= ${T.namesake_window} AND surname = sq AND ended = 0)
      WHERE k <= ${T.namesake_max}`);
    // Scanning: the distinct residents opened in the hour up to each
    // access, the most of the day per person, against the peer median.
    await c.run(`CREATE TABLE sc AS SELECT line, staff_id, jd, es, ref, strong,
        count(DISTINCT resident_id) OVER (PARTITION BY staff_id, jd ORDER BY es
          RANGE BETWEEN ${T.scan_window - 1} PRECEDING AND CURRENT ROW) AS dc
      FROM vd WHERE known AND action <> 'search'`);
  }

  // A search (no record, a query) is followed up when the same person
  // opens a record the registry knows within 10 minutes, the same day.
  await c.run(`CREATE TABLE sday AS SELECT e.staff_id, e.jd, e.line, e.ref, e.action,
      e.resident_id IS NULL AND e.query IS NOT NULL AND e.action = 'search'
        AND coalesce(min(CASE WHEN r.id IS NOT NULL THEN e.es END) OVER (
              PARTITION BY e.staff_id, e.jd ORDER BY e.line
              ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) - e.es > ${T.search_followup}, true)
        AS unfollowed
    FROM ev e JOIN staff s ON s.id = e.staff_id LEFT JOIN res r ON r.id = e.resident_id`);
  await c.run(`CREATE TABLE pday AS SELECT p.*${all ? ', coalesce(k.sn, 0) AS sn' : ''}
    FROM (SELECT d.staff_id, d.jd, s.dept, s.grp,
      count(*) FILTER (WHERE d.action = 'export') AS ex,
      count(*) FILTER (WHERE d.action = 'print') AS pr,
      count(*) FILTER (WHERE d.unfollowed) AS se
    FROM sday d JOIN staff s ON s.id = d.staff_id GROUP BY d.staff_id, d.jd, s.dept, s.grp) p
    ${all ? 'LEFT JOIN (SELECT staff_id, jd, max(dc) AS sn FROM sc GROUP BY staff_id, jd) k USING (staff_id, jd)' : ''}`);
  const med = (col) => `
    SELECT p.staff_id, p.jd, p.${col} AS v,
      CASE WHEN g.n > ${T.min_peers} THEN g.m WHEN dd.n > ${T.min_peers} THEN dd.m ELSE a.m END AS m
    FROM pday p
      JOIN (SELECT jd, grp, count(*) n, quantile_cont(${col}, 0.5) m FROM pday GROUP BY jd, grp) g
        ON g.jd = p.jd AND g.grp = p.grp
      JOIN (SELECT jd, dept, count(*) n, quantile_cont(${col}, 0.5) m FROM pday GROUP BY jd, dept) dd
        ON dd.jd = p.jd AND dd.dept = p.dept
      JOIN (SELECT jd, quantile_cont(${col}, 0.5) m FROM pday GROUP BY jd) a ON a.jd = p.jd`;
  const peer = `
    SELECT 'W-EXPORT-VOLUME' AS code, d.ref FROM sday d JOIN (${med('ex')}) x
        ON x.staff_id = d.staff_id AND x.jd = d.jd
      WHERE d.action = 'export' AND x.v > greatest(${T.export_floor}, ${T.export_factor} * x.m)
    UNION ALL
    SELECT 'W-PRINT-VOLUME', d.ref FROM sday d JOIN (${med('pr')}) x
        ON x.staff_id = d.staff_id AND x.jd = d.jd
      WHERE d.action = 'print' AND x.v > greatest(${T.print_floor}, ${T.print_factor} * x.m)
    UNION ALL
    SELECT 'W-SEARCH-NO-FOLLOWUP', d.ref FROM sday d JOIN (${med('se')}) x
        ON x.staff_id = d.staff_id AND x.jd = d.jd
      WHERE d.unfollowed AND x.v > greatest(${T.search_floor}, ${T.search_factor} * x.m)`;
  if (all) {
    // The accesses in the hours above the threshold, extended over the
    // runs of accesses not tied to the day's work at most scan_gap apart,
    // that are not tied to the day's work themselves.
    await c.run(`CREATE TABLE scn AS
      WITH m AS (SELECT s.*, max((s.dc > greatest(${T.scan_floor}, ${T.scan_factor} * x.m))::INT) OVER (
            PARTITION BY s.staff_id, s.jd ORDER BY s.es
            RANGE BETWEEN CURRENT ROW AND ${T.scan_window - 1} FOLLOWING) AS mk
          FROM sc s JOIN (${med('sn')}) x ON x.staff_id = s.staff_id AND x.jd = s.jd
          WHERE x.v > greatest(${T.scan_floor}, ${T.scan_factor} * x.m)),
        w AS (SELECT *, sum(CASE WHEN es - pes > ${T.scan_gap} THEN 1 ELSE 0 END) OVER (
            PARTITION BY staff_id, jd ORDER BY es, line ROWS UNBOUNDED PRECEDING) AS isl
          FROM (SELECT *, lag(es) OVER (PARTITION BY staff_id, jd ORDER BY es, line) AS pes
                FROM m WHERE NOT strong))
      SELECT line, ref FROM (SELECT *, max(mk) OVER (PARTITION BY staff_id, jd, isl) AS imk FROM w)
      WHERE mk = 1 OR imk = 1`);
    contentRules = `
    UNION ALL SELECT 'W-BULK-SCAN', ref FROM scn
    UNION ALL SELECT cr, ref FROM (SELECT line, ref,
        CASE WHEN dv AND NOT asg THEN 'W-DV-SUPPORT'
             WHEN rel AND NOT expl THEN 'W-RELATIVE'
             WHEN nb AND NOT expl THEN 'W-NEIGHBOUR'
             WHEN fl AND NOT asg AND NOT decl THEN 'W-FLAGGED'
             WHEN NOT expl AND line NOT IN (SELECT line FROM nsk) THEN 'W-UNEXPLAINED' END AS cr
        FROM vd)
      WHERE cr IS NOT NULL AND cr <> 'W-DV-SUPPORT'
        AND NOT (cr = 'W-UNEXPLAINED' AND line IN (SELECT line FROM scn))`;
  }
  await c.run(`COPY (SELECT code, ref FROM (${perEvent} UNION ALL ${peer} ${contentRules}) ORDER BY code, ref)
    TO ${q(a.out)} (FORMAT csv, DELIMITER '\t', HEADER false, QUOTE '')`);
  const t1 = process.hrtime.bigint();
  const n = Number((await c.runAndReadAll('SELECT count(*) FROM ev')).getRows()[0][0]);
  const secs = Number(t1 - t0) / 1e9;
  console.log(`duckdb: events=${n} seconds=${secs.toFixed(2)} load_seconds=${(Number(tLoad - t0) / 1e9).toFixed(2)} events_per_s=${Math.round(n / secs)} threads=${a.threads} rules=${a.rules}`);

  if (a.labels) {
    // The plain rule: an access to a record with no case of that resident
    // in the person's department, open at the time or closed at most 7
    // days before (the policy's need_to_know check, department scope).
    await c.run(`CREATE TABLE lab AS SELECT ref, kind FROM read_json(${q(a.labels)},
        format='newline_delimited', columns={ref:'VARCHAR', kind:'VARCHAR'})`);
    const r = (await c.runAndReadAll(`
      WITH flagged AS (
        SELECT e.ref FROM ev e JOIN staff s ON s.id = e.staff_id
        WHERE e.resident_id IS NOT NULL AND e.action <> 'search'
          AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.resident_id = e.resident_id
              AND c.dept = s.dept AND c.os <= e.es AND (c.cs IS NULL OR e.es <= c.cs + ${T.case_grace})))
      SELECT (SELECT count(*) FROM flagged),
             (SELECT count(*) FROM flagged JOIN (SELECT DISTINCT ref FROM lab) l USING (ref)),
             (SELECT count(DISTINCT ref) FROM lab)`)).getRows()[0].map(Number);
    const [flagged, tp, labelled] = r;
    console.log(`same_department_rule: flagged=${flagged} labelled_flagged=${tp} labelled=${labelled} ` +
      `precision=${(tp / flagged).toFixed(4)} recall=${(tp / labelled).toFixed(4)}`);
  }
}

main().catch((e) => {
  console.error(`duckdb_audit: ${e.message}`);
  process.exit(1);
});

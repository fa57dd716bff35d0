#!/usr/bin/env node
// jre_bench.js - the json-rules-engine baseline for tests/bench/bench_rules.
//
// usage: node jre_bench.js DIR [--budget-ms MS] [--min-leads K] [--sizes 10,100]
//
// DIR is what `bench_rules --export DIR` wrote: for each size N,
// rules-N.json (the parsed and checked rules of rules-N.routes, converted
// condition by condition, plus the rule the C tree chose for every lead) and
// leads-N.json (the same leads' facts).  For each size this builds one
// Engine, routes an evenly spaced sample of the leads one after another, and
// prints nanoseconds per lead, by the wall clock and by the process's CPU
// time (user + system, every thread: GC included).  Every answer is compared with the C tree's;
// one disagreement stops the run with exit status 1.
//
// How first-match equivalence is ensured:
//  - Rule i of the file gets priority (n_rules - i): every rule has its own
//    priority level, so json-rules-engine evaluates them strictly one after
//    another in file order (it only runs rules of equal priority in
//    parallel).
//  - On the first 'success' the handler calls engine.stop(), so no later
//    priority level runs (like the sequential evaluator, it stops at the
//    first match).  The answer is the lowest rule index among the successes,
//    which with one rule per level is the only one.
//  - Conditions: and/or/not become all/any/not; = != < <= > >= become
//    equal, notEqual, lessThan, lessThanInclusive, greaterThan,
//    greaterThanInclusive; in / not in become in / notIn; `domain owned`
//    and `email personal` are boolean facts (domain_owned, email_personal)
//    that every lead carries; `otherwise` is an empty `all` (true).
//    Values are the checker's normalized constants (countries alpha-2
//    upper case, text lower case, numbers as numbers), and lead facts are
//    the normalized facts the C evaluators saw.
//  - Missing fields are absent from the lead and the engine runs with
//    allowUndefinedFacts, so a missing fact is undefined: equal, in and the
//    numeric operators are false on it (the numeric ones reject non-numbers),
//    notEqual and notIn are true - the language's two-valued rule.
'use strict';

const fs = require('fs');
const path = require('path');
const { Engine } = require('json-rules-engine');

function usage() {
  process.stderr.write('usage: node jre_bench.js DIR [--budget-ms MS] [--min-leads K] ' +
                       '[--sizes 10,100]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { dir: null, budgetMs: 4000, minLeads: 30, sizes: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--budget-ms') o.budgetMs = Number(argv[++i]);
    else if (a === '--min-leads') o.minLeads = Number(argv[++i]);
    else if (a === '--sizes') o.sizes = argv[++i].split(',').map(Number);
    else if (a.startsWith('-') || o.dir) usage();
    else o.dir = a;
  }
  if (!o.dir || !(o.budgetMs > 0) || !(o.minLeads > 0)) usage();
  return o;
}

function fail(msg) {
  process.stderr.write(`jre_bench: ${msg}\n`);
  process.exit(1);
}

function sizesIn(dir) {
  return fs.readdirSync(dir)
    .map((f) => /^rules-(\d+)\.json$/.exec(f))
    .filter(Boolean)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function buildEngine(spec) {
  const engine = new Engine([], { allowUndefinedFacts: true });
  for (const r of spec.rules) {
    engine.addRule({
      conditions: r.conditions,
      event: r.event,
      priority: r.priority,
      name: `rule ${r.event.params.index} (line ${r.event.params.line})`,
    });
  }
  // first match wins: nothing after the first success runs
  engine.on('success', () => { engine.stop(); });
  return engine;
}

async function route(engine, facts) {
  const { results } = await engine.run(facts);
  let best = -1;
  for (const r of results) {
    const i = r.event.params.index;
    if (best < 0 || i < best) best = i;
  }
  return best;
}

async function check(engine, spec, leads, i, n) {
  const got = await route(engine, leads[i]);
  const want = spec.expect[i];
  if (got !== want) {
    const line = (k) => (k < 0 ? 'none' : `rule ${k} line ${spec.rules[k].event.params.line}`);
    fail(`MISMATCH at ${n} rules, lead ${i}: json-rules-engine says ${line(got)}, ` +
         `the C ${spec.expect_from} says ${line(want)}\nlead: ${JSON.stringify(leads[i])}`);
  }
  return got;
}

// An evenly spaced sample of k of the m leads, so a small sample still
// spans the whole generated set.
function sample(m, k) {
  const out = [];
  for (let j = 0; j < k; j++) out.push(Math.floor((j * m) / k));
  return out;
}

async function benchSize(o, n) {
  const spec = JSON.parse(fs.readFileSync(path.join(o.dir, `rules-${n}.json`), 'utf8'));
  const leads = JSON.parse(fs.readFileSync(path.join(o.dir, `leads-${n}.json`), 'utf8'));
  if (spec.expect.length !== leads.length) fail(`rules-${n}.json and leads-${n}.json disagree`);
  const m = leads.length;
  const engine = buildEngine(spec);

  // warm up (JIT) on a few leads spread over the set, and size the sample
  const warm = sample(m, Math.min(20, m));
  let t0 = process.hrtime.bigint();
  for (const i of warm) await check(engine, spec, leads, i, n);
  const perLead = Number(process.hrtime.bigint() - t0) / warm.length;
  let k = Math.ceil((o.budgetMs * 1e6) / Math.max(perLead, 1));
  k = Math.min(m, Math.max(o.minLeads, k));

  const idx = sample(m, k);
  let sum = 0;
  const c0 = process.cpuUsage();
  t0 = process.hrtime.bigint();
  for (const i of idx) sum += await check(engine, spec, leads, i, n);
  const ns = Number(process.hrtime.bigint() - t0) / idx.length;
  const c = process.cpuUsage(c0);   // microseconds, every thread of the process
  const cpuNs = ((c.user + c.system) * 1000) / idx.length;
  return { n, leads: idx.length, ns, cpuNs, sum };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const sizes = o.sizes || sizesIn(o.dir);
  if (!sizes.length) fail(`no rules-N.json in ${o.dir}`);
  const pkg = require('json-rules-engine/package.json');
  console.log(`json-rules-engine ${pkg.version} on node ${process.version}: ` +
              `budget ${o.budgetMs} ms per size (at least ${o.minLeads} leads), ` +
              'leads run one after another, every answer checked against the C tree');
  console.log(`${'rules'.padStart(7)} ${'leads run'.padStart(10)} ${'jre ns'.padStart(14)} ` +
              `${'cpu'.padStart(14)}`);
  const rows = [];
  for (const n of sizes) {
    const r = await benchSize(o, n);
    rows.push(r);
    console.log(`${String(n).padStart(7)} ${String(r.leads).padStart(10)} ` +
                `${r.ns.toFixed(0).padStart(14)} ${r.cpuNs.toFixed(0).padStart(14)}`);
  }
  console.log(`checksum ${rows.reduce((a, r) => a + r.sum, 0)}`);
  const tsv = ['rules\tleads_run\tjre_ns\tjre_cpu_ns']
    .concat(rows.map((r) => `${r.n}\t${r.leads}\t${r.ns.toFixed(1)}\t${r.cpuNs.toFixed(1)}`))
    .join('\n') + '\n';
  fs.writeFileSync(path.join(o.dir, 'jre-results.tsv'), tsv);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));

// ann_npm.mjs - USearch and hnswlib (npm `usearch`, `hnswlib-node`) on the
// vectors, queries and exact answers bench/index_bench.c wrote to DIR, with
// the same graph parameters as Akosha's index (M 16, 128 candidates while
// building), cosine, float32.  For each ef: recall@10, p50/p99 wall and
// CPU time per query (one query at a time), and USearch's QPS with 4
// threads (its batch search; hnswlib-node has no threaded search).
// ANN_LIBS ("usearch hnswlib" by default) picks the libraries, so a large
// run can measure them in two processes side by side.
// Usage: node ann_npm.mjs DIR  -> one JSON line
import { readFileSync } from 'node:fs';
import usearch from 'usearch';
import hnswlib from 'hnswlib-node';

const dir = process.argv[2];
const DIM = 384, K = 10;
const f32 = (name) => { const b = readFileSync(`${dir}/${name}`); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
const base = f32('base.f32'), qs = f32('queries.f32');
const tb = readFileSync(`${dir}/truth.i32`);
const truth = new Int32Array(tb.buffer, tb.byteOffset, tb.length / 4);
const n = base.length / DIM, nq = qs.length / DIM;
const efs = [16, 32, 64, 128, 256];

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

function measure(searchOne) {
  const lat = [], cpu = [];
  let found = 0;
  for (let i = 0; i < nq; i++) {
    const q = qs.subarray(i * DIM, (i + 1) * DIM);
    const t = performance.now(), c = cpuMs();
    const ids = searchOne(q);
    lat.push(performance.now() - t);
    cpu.push(cpuMs() - c);
    const want = new Set(truth.subarray(i * K, (i + 1) * K));
    for (const id of ids) found += want.has(Number(id)) ? 1 : 0;
  }
  return { recall10: found / (nq * K), p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99),
           cpu_p50_ms: pct(cpu, 0.5), cpu_p99_ms: pct(cpu, 0.99) };
}

const out = { n, queries: nq };
const libs = (process.env.ANN_LIBS || 'usearch hnswlib').split(/\s+/);

// USearch
if (libs.includes('usearch')) {
  const config = (ef) => ({ metric: 'cos', dimensions: DIM, connectivity: 16, expansion_add: 128, expansion_search: ef });
  const built = new usearch.Index(config(64));
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  const t = performance.now(), c = cpuMs();
  built.add(keys, base, 1);
  out.usearch = { build_s: (performance.now() - t) / 1000, build_cpu_s: (cpuMs() - c) / 1000, runs: [] };
  built.save(`${dir}/usearch.idx`);
  for (const ef of efs) {
    // the search expansion is fixed at construction: load the index into one per ef
    const index = new usearch.Index(config(ef));
    index.load(`${dir}/usearch.idx`);
    const r = measure((q) => index.search(q, K, 1).keys);
    // a loaded index may refuse more threads than it reserved: say so
    try {
      const t4 = performance.now();
      for (let pass = 0; pass < 3; pass++) index.search(qs, K, 4);
      r.qps4 = (3 * nq) / ((performance.now() - t4) / 1000);
    } catch (e) {
      r.qps4_error = e.message;
    }
    out.usearch.runs.push({ ef, ...r });
  }
}

// hnswlib
if (libs.includes('hnswlib')) {
  const index = new hnswlib.HierarchicalNSW('cosine', DIM);
  index.initIndex(n, 16, 128, 100);
  const t = performance.now(), c = cpuMs();
  for (let i = 0; i < n; i++) index.addPoint(Array.from(base.subarray(i * DIM, (i + 1) * DIM)), i);
  out.hnswlib = { build_s: (performance.now() - t) / 1000, build_cpu_s: (cpuMs() - c) / 1000, runs: [] };
  for (const ef of efs) {
    index.setEf(ef);
    const r = measure((q) => index.searchKnn(Array.from(q), K).neighbors);
    out.hnswlib.runs.push({ ef, ...r });
  }
}
console.log(JSON.stringify(out));

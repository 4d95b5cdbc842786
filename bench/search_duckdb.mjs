// search_duckdb.mjs - the baseline for `make bench`'s search figures: the
// predecessor's query, DuckDB brute force over the same vectors:
//   SELECT id, array_cosine_similarity(embedding, ?::FLOAT[384]) AS score
//   FROM vectors ORDER BY score DESC LIMIT 10
// Usage: node search_duckdb.mjs VECTORS.jsonl QUERIES.txt  -> one JSON line
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [vectors, queriesFile] = process.argv.slice(2);
const queries = readFileSync(queriesFile, 'utf8').trim().split('\n');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const t0 = performance.now();
await con.run(`CREATE TABLE vectors AS SELECT id, embedding::FLOAT[384] AS embedding
               FROM read_json('${vectors}', format = 'newline_delimited',
                              columns = {id: 'INTEGER', embedding: 'FLOAT[384]'})`);
const loadSeconds = (performance.now() - t0) / 1000;
const times = [];
let top = [];
for (const q of queries) {
  const t = performance.now();
  const r = await con.runAndReadAll(
    `SELECT id, array_cosine_similarity(embedding, ${q}::FLOAT[384]) AS score
     FROM vectors ORDER BY score DESC LIMIT 10`);
  times.push(performance.now() - t);
  top.push(r.getRows().map((row) => Number(row[0])));
}
times.sort((a, b) => a - b);
const threads = (await con.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
console.log(JSON.stringify({
  rows: Number((await con.runAndReadAll('SELECT count(*) FROM vectors')).getRows()[0][0]),
  load_s: loadSeconds, p50_ms: times[Math.floor(times.length / 2)],
  min_ms: times[0], threads: Number(threads), top10_first_query: top[0],
}));

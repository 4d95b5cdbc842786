// duckdb_load.mjs - bulk-load the same payloads into DuckDB, the baseline
// `make bench` compares Akosha's ingestion with.  Prints one JSON line.
//   node duckdb_load.mjs 'GLOB' RECORDS [DBFILE]
// Without DBFILE the table is in memory; with it, in a database file that
// is checkpointed before the clock stops (durable, as Akosha's store is).
import { DuckDBInstance } from '@duckdb/node-api';

const [glob, records, file] = process.argv.slice(2);
const db = await DuckDBInstance.create(file || ':memory:');
const con = await db.connect();
const threads = (await con.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
const t0 = performance.now();
await con.run(`CREATE TABLE conversations AS
  SELECT * FROM read_json('${glob}', format = 'newline_delimited',
    columns = {id: 'VARCHAR', conversation_id: 'VARCHAR', content: 'VARCHAR',
               embedding: 'FLOAT[]', timestamp: 'TIMESTAMPTZ', source: 'VARCHAR',
               metadata: 'JSON'})`);
if (file) await con.run('CHECKPOINT');
const seconds = (performance.now() - t0) / 1000;
const n = Number((await con.runAndReadAll('SELECT count(*) FROM conversations')).getRows()[0][0]);
if (n !== Number(records)) {
  console.error(`duckdb loaded ${n} rows, expected ${records}`);
  process.exit(1);
}
console.log(JSON.stringify({ rows: n, seconds, threads: Number(threads), file: !!file }));

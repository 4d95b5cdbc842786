// parquet_duckdb.mjs - DuckDB against Akosha's cold-tier Parquet writer and
// reader (src/tier/parquet.h), driven by test_parquet_duckdb.sh.
//
//   node parquet_duckdb.mjs PQTOOL WORKDIR
//
// 1. Files written by `pqtool write` (sizes 0 to 25,000 rows, several row
//    groups, compressed or not) are read by DuckDB: every row and column
//    must equal what pqtool says it wrote (values, nulls, order), the
//    column types must be VARCHAR / TIMESTAMP WITH TIME ZONE / BLOB, and
//    parquet_metadata() must show the codec, row groups, null counts and
//    min/max statistics of every chunk as computed here from the rows.
// 2. DuckDB rewrites one of them with each codec, with dictionaries, small
//    row groups, reordered and extra columns; `pqtool dump` and `pqtool
//    find` must read each back exactly as DuckDB does.
// 3. Files Akosha must refuse (v2 encodings, a missing column, naive
//    nanosecond timestamps, a null in a required column, a short
//    fingerprint) fail with a message naming the problem; a file without the
//    embedding_code column (older Akosha, other writers) reads as all null.
//
// Prints one line per check; exits 1 at the first failure.
import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

const [pqtool, work] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

// DuckDB's answer; an error fails the test naming the statement.
async function rows(sql) {
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJson();
  } catch (e) {
    fail(`DuckDB: ${e.message}\n  in: ${sql.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
}

const COLUMNS = ['system_id', 'conversation_id', 'ts_us', 'ultra_summary', 'fingerprint',
  'content_sha256', 'metadata', 'daily_metrics', 'embedding_code'];
const TYPES = {
  system_id: 'VARCHAR', conversation_id: 'VARCHAR', timestamp: 'TIMESTAMP WITH TIME ZONE',
  ultra_summary: 'VARCHAR', fingerprint: 'BLOB', content_sha256: 'VARCHAR',
  metadata: 'VARCHAR', daily_metrics: 'VARCHAR', embedding_code: 'BLOB',
};
const OPTIONAL = new Set(['metadata', 'daily_metrics', 'embedding_code']);
const BLOBS = new Set(['fingerprint', 'embedding_code']);


const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;

// A file's rows as DuckDB reads them, in file order, in pqtool's JSON shape.
async function duckRows(file, withCode = true) {
  return rows(`SELECT system_id, conversation_id, epoch_us("timestamp")::VARCHAR AS ts_us,
      ultra_summary, lower(hex(fingerprint)) AS fingerprint, content_sha256, metadata,
      daily_metrics, ${withCode ? 'lower(hex(embedding_code))' : 'NULL'} AS embedding_code
    FROM read_parquet(${sqlString(file)}, file_row_number = true) ORDER BY file_row_number`);
}

// pqtool's stdout; a failure ends the test with its stderr.
function pq(...args) {
  const r = spawnSync(pqtool, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`pqtool ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function jsonLines(text) {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

function sameRows(got, want, what) {
  if (got.length !== want.length) fail(`${what}: ${got.length} rows, expected ${want.length}`);
  for (let i = 0; i < want.length; i++)
    for (const c of COLUMNS)
      if (got[i][c] !== want[i][c])
        fail(`${what}: row ${i} column ${c} is ${JSON.stringify(got[i][c])}, ` +
             `expected ${JSON.stringify(want[i][c])}`);
}

// Unsigned byte-wise order of UTF-8 strings (and of equal-length hex).
const byteCmp = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// What the statistics of one column over some rows must say.
function expectedStats(group, col) {
  const key = col === 'timestamp' ? 'ts_us' : col;
  const vals = group.map((r) => r[key]).filter((v) => v !== null);
  const cmp = col === 'timestamp' ? (a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b))
    : byteCmp;
  const sorted = [...vals].sort(cmp);
  return { nulls: group.length - vals.length, min: sorted[0] ?? null, max: sorted.at(-1) ?? null };
}

// DuckDB shows a BLOB bound as text with \x escapes: let it render ours.
async function blobText(hex) {
  return (await rows(`SELECT from_hex('${hex}')::VARCHAR AS t`))[0].t;
}

async function checkStats(file, want, groupRows, codec) {
  const meta = await rows(`SELECT row_group_id, row_group_num_rows, path_in_schema, compression,
      stats_min_value, stats_max_value, stats_null_count,
      epoch_us(TRY_CAST(stats_min_value AS TIMESTAMPTZ))::VARCHAR AS ts_min,
      epoch_us(TRY_CAST(stats_max_value AS TIMESTAMPTZ))::VARCHAR AS ts_max
    FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id, column_id`);
  const groups = Math.ceil(want.length / groupRows);
  const ncols = COLUMNS.length;
  if (meta.length !== groups * ncols)
    fail(`${file}: ${meta.length} chunks, expected ${groups * ncols}`);
  for (const m of meta) {
    const g = Number(m.row_group_id), col = m.path_in_schema;
    const part = want.slice(g * groupRows, (g + 1) * groupRows);
    const where = `${file} row group ${g} column ${col}`;
    if (Number(m.row_group_num_rows) !== part.length)
      fail(`${where}: ${m.row_group_num_rows} rows, expected ${part.length}`);
    if (m.compression !== codec) fail(`${where}: compression ${m.compression}, expected ${codec}`);
    const x = expectedStats(part, col);
    if (Number(m.stats_null_count) !== x.nulls)
      fail(`${where}: null_count ${m.stats_null_count}, expected ${x.nulls}`);
    let [min, max] = [m.stats_min_value, m.stats_max_value];
    if (col === 'timestamp') [min, max] = [m.ts_min, m.ts_max];
    if (BLOBS.has(col) && x.min !== null) [x.min, x.max] = [await blobText(x.min),
      await blobText(x.max)];
    if (min !== x.min || max !== x.max)
      fail(`${where}: min/max ${JSON.stringify([min, max])}, expected ` +
           `${JSON.stringify([x.min, x.max])}`);
  }
}

async function checkSchema(file) {
  const types = await rows(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
  const got = Object.fromEntries(types.map((t) => [t.column_name, t.column_type]));
  if (JSON.stringify(got) !== JSON.stringify(TYPES))
    fail(`${file}: DuckDB types ${JSON.stringify(got)}, expected ${JSON.stringify(TYPES)}`);
  for (const s of await rows(`SELECT name, repetition_type, converted_type, logical_type
      FROM parquet_schema(${sqlString(file)}) WHERE name != 'schema'`)) {
    const rep = OPTIONAL.has(s.name) ? 'OPTIONAL' : 'REQUIRED';
    if (s.repetition_type !== rep) fail(`${file}: ${s.name} is ${s.repetition_type}, not ${rep}`);
    const [conv, logical] = s.name === 'timestamp'
      ? ['TIMESTAMP_MICROS', /^TimestampType\(isAdjustedToUTC=1, .*MICROS=MicroSeconds\(\)/]
      : BLOBS.has(s.name) ? [null, null] : ['UTF8', /^StringType\(\)$/];
    if (s.converted_type !== conv || (logical ? !logical.test(s.logical_type) : s.logical_type))
      fail(`${file}: ${s.name} annotated ${s.converted_type} / ${s.logical_type}`);
  }
  const kv = await rows(`SELECT decode(key) AS k, decode(value) AS v
    FROM parquet_kv_metadata(${sqlString(file)})`);
  if (kv.length !== 1 || kv[0].k !== 'akosha.format' || kv[0].v !== '1')
    fail(`${file}: key/value metadata ${JSON.stringify(kv)}`);
}

// ---- 1. Akosha writes, DuckDB reads ----

const cases = [
  { name: 'empty', rows: 0 },
  { name: 'one', rows: 1 },
  { name: 'groups', rows: 1000, group: 300 },
  { name: 'plain', rows: 1000, group: 400, uncompressed: true },
  { name: 'default', rows: 25000 }, // 10,000-row groups, pages of 1 MiB
];
for (const c of cases) {
  const file = `${work}/${c.name}.parquet`, expect = `${work}/${c.name}.jsonl`;
  const args = ['write', file, '--rows', String(c.rows), '--seed', '3', '--expect', expect];
  if (c.group) args.push('--group-rows', String(c.group));
  if (c.uncompressed) args.push('--uncompressed');
  pq(...args);
  const want = jsonLines(readFileSync(expect, 'utf8'));
  sameRows(await duckRows(file), want, `DuckDB reading ${c.name}.parquet`);
  await checkSchema(file);
  await checkStats(file, want, c.group ?? 10000, c.uncompressed ? 'UNCOMPRESSED' : 'ZSTD');
  const fm = (await rows(`SELECT created_by, num_rows FROM parquet_file_metadata(
    ${sqlString(file)})`))[0];
  if (fm.created_by !== 'akosha pqtool' || Number(fm.num_rows) !== c.rows)
    fail(`${c.name}.parquet: file metadata ${JSON.stringify(fm)}`);
  console.log(`ok  DuckDB reads ${c.name}.parquet: ${c.rows} rows, types, statistics`);
}

// ---- 2. DuckDB writes, Akosha reads ----

const source = `read_parquet(${sqlString(`${work}/groups.parquet`)})`;
const variants = [
  ['snappy', `SELECT * FROM ${source}`, 'COMPRESSION snappy'],
  ['gzip', `SELECT * FROM ${source}`, 'COMPRESSION gzip'],
  ['zstd', `SELECT * FROM ${source}`, 'COMPRESSION zstd, ROW_GROUP_SIZE 250'],
  ['lz4', `SELECT * FROM ${source}`, 'COMPRESSION lz4'],
  ['uncompressed', `SELECT * FROM ${source}`, 'COMPRESSION uncompressed'],
  // few distinct values: DuckDB writes dictionaries, INT64 and strings alike
  ['dictionary', `SELECT * REPLACE (make_timestamptz(1700000000000000 +
      epoch_us("timestamp") % 7) AS "timestamp", left(ultra_summary, 3) AS ultra_summary)
      FROM ${source}`, 'COMPRESSION snappy'],
  ['reordered', `SELECT daily_metrics, fingerprint, 42 AS extra, * EXCLUDE (daily_metrics,
      fingerprint) FROM ${source}`, 'COMPRESSION zstd'],
  // a file of the schema before embedding_code: every code null
  ['no_code', `SELECT * EXCLUDE (embedding_code) FROM ${source}`, 'COMPRESSION zstd', false],
];
for (const [name, select, options, withCode = true] of variants) {
  const file = `${work}/duck_${name}.parquet`;
  await rows(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, ${options})`);
  const want = await duckRows(file, withCode);
  const got = jsonLines(pq('dump', file));
  sameRows(got, want, `pqtool reading DuckDB's ${name} file`);
  for (const i of [0, 499, want.length - 1]) {
    const one = jsonLines(pq('find', file, want[i].conversation_id));
    sameRows(one, [want[i]], `pqtool find in DuckDB's ${name} file`);
  }
  const enc = await rows(`SELECT DISTINCT compression, encodings FROM parquet_metadata(
    ${sqlString(file)}) ORDER BY ALL`);
  console.log(`ok  pqtool reads DuckDB's ${name} file: ${want.length} rows ` +
              `(${enc.map((e) => `${e.compression} ${e.encodings}`).join(', ')})`);
}
if (!(await rows(`SELECT 1 FROM parquet_metadata(${sqlString(`${work}/duck_dictionary.parquet`)})
    WHERE path_in_schema = 'timestamp' AND encodings LIKE '%DICTIONARY%'`)).length)
  fail('the dictionary variant has no dictionary-encoded timestamp');

// ---- 3. Files Akosha must refuse ----

const refusals = [
  ['v2', `SELECT * FROM ${source}`, 'PARQUET_VERSION V2',
    'in encoding DELTA_'],
  ['missing', `SELECT * EXCLUDE (fingerprint) FROM ${source}`, 'COMPRESSION zstd',
    'the file has no column fingerprint, so it is not an Akosha cold file'],
  ['naive_ns', `SELECT * REPLACE ("timestamp"::TIMESTAMP_NS AS "timestamp") FROM ${source}`,
    'COMPRESSION zstd', 'column timestamp is INT64 TIMESTAMP(isAdjustedToUTC=false, NANOS)'],
  ['null_summary', `SELECT * REPLACE (CASE WHEN file_row_number = 250 THEN NULL
      ELSE ultra_summary END AS ultra_summary) FROM read_parquet(
      ${sqlString(`${work}/groups.parquet`)}, file_row_number = true)`, 'COMPRESSION zstd',
    'column ultra_summary: row 250 is null, but the column is required'],
  ['short_fingerprint', `SELECT * REPLACE ('\\x01\\x02'::BLOB AS fingerprint) FROM ${source}`,
    'COMPRESSION zstd', 'column fingerprint: row 0 has 2 bytes, not 64 (or 512)'],
];
for (const [name, select, options, needle] of refusals) {
  const file = `${work}/refuse_${name}.parquet`;
  await rows(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, ${options})`);
  const r = spawnSync(pqtool, ['dump', file], { encoding: 'utf8' });
  if (r.status !== 1 || !r.stderr.includes(needle))
    fail(`pqtool on ${name}: exit ${r.status}, stderr ${JSON.stringify(r.stderr)}, ` +
         `expected a message with ${JSON.stringify(needle)}`);
  console.log(`ok  pqtool refuses ${name}: ${r.stderr.trim().replace(/^pqtool: [^:]*: /, '')}`);
}
console.log('parquet/duckdb: all checks passed');

// mkduckdb.mjs - write a reflection.duckdb the way Session-Buddy's schemas
// make it, with @duckdb/node-api (any 1.x version: the first argument is
// the node_modules directory that holds the one to use).
//
//   node mkduckdb.mjs MODULES OUT.duckdb SCHEMA N [options]
//
// SCHEMA  v1      conversations + reflections (session_buddy/reflection/schema.py)
//         v2      conversations_v2 + reflections_v2 (memory/schema_v2.py), and the
//                 v1 tables beside them holding other rows (a migrated file:
//                 only the v2 ones must be read)
//         v2-old  conversations_v2 without the columns added later by
//                 ALTER TABLE (source_type, turn_parent_id, causal_parent_id)
//         none    only tables that are not memories
//         kg      knowledge_graph.duckdb's kg_entities / kg_relationships
// N       conversations; reflections are N/4 (at least 1) unless --reflections
// options --edit K        the first K conversations have edited content
//         --null-every M  every M-th conversation has a NULL embedding
//         --reflections R how many reflections
//         --jsonl FILE    also write the same conversations as Akosha JSONL
//                         records (id, content, embedding, timestamp, metadata)
//         --storage V     storage_compatibility_version (e.g. v1.2.0)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [modules, out, schema, nArg, ...rest] = process.argv.slice(2);
const opt = { edit: 0, nullEvery: 0, jsonl: null, storage: null, reflections: null };
for (let i = 0; i < rest.length; i += 2) {
  const v = rest[i + 1];
  if (rest[i] === '--edit') opt.edit = Number(v);
  else if (rest[i] === '--null-every') opt.nullEvery = Number(v);
  else if (rest[i] === '--jsonl') opt.jsonl = v;
  else if (rest[i] === '--reflections') opt.reflections = Number(v);
  else if (rest[i] === '--storage') opt.storage = v;
  else throw new Error(`unknown option ${rest[i]}`);
}
const n = Number(nArg);
const require = createRequire(modules + '/');
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const inst = await DuckDBInstance.create(out, opt.storage ? { storage_compatibility_version: opt.storage } : {});
const c = await inst.connect();

// Deterministic values from the row number i.
const content = `CASE WHEN i < ${opt.edit} THEN 'edited: ' ELSE '' END || 'conversation ' || i || ' about topic ' || (i % 7) || ' and duckdb'`;
const embedding = opt.nullEvery
  ? `(CASE WHEN i % ${opt.nullEvery} = ${opt.nullEvery - 1} THEN NULL ELSE list_transform(range(384), k -> sin(i * 0.37 + k * 0.11)) END)::FLOAT[384]`
  : `list_transform(range(384), k -> sin(i * 0.37 + k * 0.11))::FLOAT[384]`;
const ts = `TIMESTAMP '2025-06-01 12:00:00' + INTERVAL (i) MINUTE`;
const meta = `'{"origin": "mkduckdb", "n": ' || i || '}'`;
const nr = opt.reflections ?? Math.max(1, Math.floor(n / 4));

const v1 = async () => {
  await c.run(`CREATE TABLE conversations (id VARCHAR PRIMARY KEY, content TEXT NOT NULL,
    embedding FLOAT[384], project VARCHAR, timestamp TIMESTAMP, metadata JSON)`);
  await c.run(`CREATE TABLE reflections (id VARCHAR PRIMARY KEY, content TEXT NOT NULL,
    embedding FLOAT[384], project VARCHAR, tags VARCHAR[], timestamp TIMESTAMP, metadata JSON)`);
};
const v2conv = async (old) => {
  await c.run(`CREATE TABLE conversations_v2 (id TEXT PRIMARY KEY, content TEXT NOT NULL,
    embedding FLOAT[384], category TEXT NOT NULL, subcategory TEXT, importance_score REAL,
    memory_tier TEXT, access_count INTEGER, last_accessed TIMESTAMP, project TEXT,
    namespace TEXT, timestamp TIMESTAMP, session_id TEXT, user_id TEXT,
    searchable_content TEXT, reasoning TEXT, metadata VARCHAR)`);
  if (!old)
    for (const col of ['source_type TEXT', 'turn_parent_id TEXT', 'causal_parent_id TEXT'])
      await c.run(`ALTER TABLE conversations_v2 ADD COLUMN IF NOT EXISTS ${col}`);
  await c.run(`CREATE TABLE reflections_v2 (id TEXT PRIMARY KEY, content TEXT NOT NULL,
    embedding FLOAT[384], category TEXT NOT NULL, importance_score REAL, memory_tier TEXT,
    tags TEXT[], related_entities TEXT[], timestamp TIMESTAMP, project TEXT, namespace TEXT,
    metadata JSON)`);
};

if (schema === 'v1') {
  await v1();
  await c.run(`INSERT INTO conversations SELECT 'conv-' || i, ${content}, ${embedding},
    'proj-' || (i % 3), ${ts}, ${meta} FROM range(${n}) t(i)`);
  await c.run(`INSERT INTO reflections SELECT 'refl-' || i, 'reflection ' || i || ' learned', NULL,
    'proj-0', ['lesson', 'tag' || i], ${ts}, NULL FROM range(${nr}) t(i)`);
} else if (schema === 'v2' || schema === 'v2-old') {
  await v2conv(schema === 'v2-old');
  const extra = schema === 'v2' ? `, 'conversation', NULL, NULL` : '';
  await c.run(`INSERT INTO conversations_v2 SELECT 'conv-' || i, ${content}, ${embedding},
    'context', 'sub' || (i % 2), 0.5, 'working', i, now()::TIMESTAMP, 'proj-' || (i % 3), 'default',
    ${ts}, 'sess-' || (i % 5), 'les', NULL, NULL, ${meta}${extra} FROM range(${n}) t(i)`);
  await c.run(`INSERT INTO reflections_v2 SELECT 'refl-' || i, 'reflection ' || i || ' learned', NULL,
    'insight', 0.9, 'long_term', ['lesson', 'tag' || i], ['akosha'], ${ts}, 'proj-0', 'default',
    NULL FROM range(${nr}) t(i)`);
  if (schema === 'v2') {
    await v1();
    await c.run(`INSERT INTO conversations VALUES ('stale-v1', 'only in the old table', NULL,
      'p', ${ts.replace(/\(i\)/, '(0)')}, NULL)`);
  }
} else if (schema === 'none') {
  await c.run(`CREATE TABLE access_log (id VARCHAR, seen TIMESTAMP)`);
  await c.run(`INSERT INTO access_log VALUES ('x', now()::TIMESTAMP)`);
} else if (schema === 'kg') {
  await c.run(`CREATE TABLE kg_entities (id VARCHAR PRIMARY KEY, name VARCHAR, entity_type VARCHAR,
    observations VARCHAR[], properties JSON, created_at TIMESTAMP, updated_at TIMESTAMP,
    metadata JSON, embedding FLOAT[384])`);
  await c.run(`INSERT INTO kg_entities VALUES ('e1', 'Akosha', 'project', ['aggregates memories'],
    '{}', now()::TIMESTAMP, now()::TIMESTAMP, '{}', NULL)`);
} else {
  throw new Error(`unknown schema ${schema}`);
}

if (opt.jsonl) {
  // The same conversations as JSONL records, for the JSON-vs-DuckDB bench.
  const table = schema === 'v1' ? 'conversations' : 'conversations_v2';
  await c.run(`COPY (SELECT id, content, embedding::FLOAT[] AS embedding,
      strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp,
      json_object('project', project) AS metadata FROM ${table})
    TO '${opt.jsonl}' (FORMAT JSON)`);
}
await c.run('CHECKPOINT'); // the upload is the .duckdb file alone, no WAL
c.closeSync?.();
inst.closeSync?.();

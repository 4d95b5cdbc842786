// mkkg.mjs - write a knowledge_graph.duckdb in Session-Buddy's schema
// (session_buddy/adapters/knowledge_graph_adapter_oneiric.py _create_schema)
// with @duckdb/node-api, for the graph tests and bench.
//   node mkkg.mjs MODULES OUT KIND [N M]
// KIND  a      system A: person:alice -works_on-> project:akosha -uses->
//              library:duckdb; a self-loop on duckdb
//       b      system B: person:bob -works_on-> project:akosha (another
//              observation) -uses-> library:sqlite; one relation names its
//              end by name ("sqlite"), one points at an entity B never sent
//       a2     A again with one observation edited and one entity added
//       old    A's entities, relationships lacking updated_at and
//              properties (an older file), entities lacking embedding
//       empty  neither table (other tables only)
//       big    N entities, M relations, deterministic (the bench)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [modules, out, kind, nArg, mArg] = process.argv.slice(2);
const require = createRequire(modules + '/');
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const inst = await DuckDBInstance.create(out);
const c = await inst.connect();

const ENTITIES = `CREATE TABLE kg_entities (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,
  entity_type VARCHAR NOT NULL, observations VARCHAR[], properties JSON,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  metadata JSON, embedding FLOAT[384])`;
const RELATIONS = `CREATE TABLE kg_relationships (id VARCHAR PRIMARY KEY, from_entity VARCHAR NOT NULL,
  to_entity VARCHAR NOT NULL, relation_type VARCHAR NOT NULL, properties JSON,
  created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  metadata JSON)`;
const T = "TIMESTAMP '2025-06-01 12:00:00'";

async function entities(rows) {
  for (const [id, name, type, obs] of rows)
    await c.run(`INSERT INTO kg_entities VALUES ('${id}', '${name}', '${type}', [${obs.map((o) => `'${o}'`).join(', ')}]::VARCHAR[],
      '{"origin": "mkkg"}', ${T}, ${T}, '{}', NULL)`);
}
async function relations(rows) {
  for (const [id, from, to, type] of rows)
    await c.run(`INSERT INTO kg_relationships VALUES ('${id}', '${from}', '${to}', '${type}', '{}', ${T}, ${T}, '{}')`);
}

const A = [['a-1', 'alice', 'person', ['reviews C code']], ['a-2', 'akosha', 'project', ['aggregates memories']],
  ['a-3', 'duckdb', 'library', ['reads snapshots']]];
const AR = [['ar-1', 'a-1', 'a-2', 'works_on'], ['ar-2', 'a-2', 'a-3', 'uses'], ['ar-3', 'a-3', 'a-3', 'depends_on']];

if (kind === 'a' || kind === 'a2') {
  await c.run(ENTITIES);
  await c.run(RELATIONS);
  const rows = kind === 'a' ? A : [A[0], ['a-2', 'akosha', 'project', ['aggregates memories', 'written in C']], A[2],
    ['a-4', 'zstd', 'library', []]];
  await entities(rows);
  await relations(kind === 'a' ? AR : [...AR, ['ar-4', 'a-2', 'a-4', 'uses']]);
} else if (kind === 'b') {
  await c.run(ENTITIES);
  await c.run(RELATIONS);
  await entities([['b-1', 'bob', 'person', []], ['b-2', 'akosha', 'project', ['serves MCP tools']],
    ['b-3', 'sqlite', 'library', ['embedded SQL']]]);
  await relations([['br-1', 'b-1', 'b-2', 'works_on'], ['br-2', 'b-2', 'sqlite', 'uses'],
    ['br-3', 'b-1', 'b-404', 'knows']]);
} else if (kind === 'old') {
  await c.run(`CREATE TABLE kg_entities (id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL, observations VARCHAR[], properties JSON, created_at TIMESTAMP,
    updated_at TIMESTAMP, metadata JSON)`);
  await c.run(`CREATE TABLE kg_relationships (id VARCHAR PRIMARY KEY, from_entity VARCHAR NOT NULL,
    to_entity VARCHAR NOT NULL, relation_type VARCHAR NOT NULL, created_at TIMESTAMP)`);
  for (const [id, name, type, obs] of A)
    await c.run(`INSERT INTO kg_entities VALUES ('${id}', '${name}', '${type}', [${obs.map((o) => `'${o}'`).join(', ')}]::VARCHAR[], '{}', ${T}, ${T}, '{}')`);
  for (const [id, from, to, type] of AR)
    await c.run(`INSERT INTO kg_relationships VALUES ('${id}', '${from}', '${to}', '${type}', ${T})`);
} else if (kind === 'empty') {
  await c.run('CREATE TABLE skills (id VARCHAR)');
} else if (kind === 'big') {
  const n = Number(nArg), m = Number(mArg);
  await c.run(ENTITIES);
  await c.run(RELATIONS);
  // Names shared in part between systems (the bench loads this file as
  // several systems): entity i is "e<i>" of one of 8 types.
  await c.run(`INSERT INTO kg_entities SELECT 'id-' || i, 'e' || i, 'type' || (i % 8),
    ['observation ' || i], '{}', ${T}, ${T}, '{}', NULL FROM range(${n}) t(i)`);
  // relation j: from a pseudo-random entity to another (hash-spread)
  await c.run(`INSERT INTO kg_relationships SELECT 'r-' || j,
    'id-' || (hash(j) % ${n}), 'id-' || (hash(j * 7 + 3) % ${n}), 'rel' || (j % 5), '{}', ${T}, ${T}, '{}'
    FROM range(${m}) t(j)`);
} else {
  throw new Error(`unknown kind ${kind}`);
}
await c.run('CHECKPOINT');
c.closeSync?.();
inst.closeSync?.();

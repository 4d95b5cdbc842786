-- graph_bulk.sql - a schema-0 graph.db (the tables before the counters)
-- of $n entities and $m relations shaped like mkkg.mjs big (8 types,
-- relation ends spread by multiplicative hashing modulo a prime: a plain
-- j * a % n would make every block of n relations the same map), written
-- by SQL in seconds instead of an ingest; opening it runs graph.c's
-- migration, which bench_graph times.
-- Used by graph_bench.sh with BENCH_GRAPH_BULK=1 (a loaded machine).
CREATE TABLE g_node(id INTEGER PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, UNIQUE(type, name));
CREATE INDEX g_node_name ON g_node(name);
CREATE TABLE g_entity(system TEXT NOT NULL, orig_id TEXT NOT NULL, node INTEGER NOT NULL,
  observations TEXT NOT NULL, properties TEXT, created_us INTEGER, updated_us INTEGER,
  digest BLOB NOT NULL, PRIMARY KEY(system, orig_id)) WITHOUT ROWID;
CREATE INDEX g_entity_node ON g_entity(node);
CREATE TABLE g_relation(system TEXT NOT NULL, orig_id TEXT NOT NULL, src TEXT NOT NULL,
  dst TEXT NOT NULL, type TEXT NOT NULL, properties TEXT, created_us INTEGER,
  updated_us INTEGER, digest BLOB NOT NULL, PRIMARY KEY(system, orig_id)) WITHOUT ROWID;
CREATE INDEX g_relation_src ON g_relation(system, src);
CREATE INDEX g_relation_dst ON g_relation(system, dst);
BEGIN;
WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < $n - 1)
INSERT INTO g_node(id, type, name) SELECT i + 1, 'type' || (i % 8), 'e' || i FROM r;
INSERT INTO g_entity SELECT 'bench.local', 'id-' || (id - 1), id,
  '["observation ' || (id - 1) || '"]', '{"origin":"mkkg"}', 1748779200000000,
  1748779200000000, zeroblob(32) FROM g_node;
WITH RECURSIVE r(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM r WHERE j < $m - 1)
INSERT INTO g_relation SELECT 'bench.local', 'r-' || j,
  'id-' || ((j * 2654435761) % 4294967291 % $n),
  'id-' || ((j * 2246822519 + 374761393) % 4294967291 % $n),
  'rel' || (j % 5), '{}', 1748779200000000, 1748779200000000, zeroblob(32) FROM r;
COMMIT;

// graph_client.mjs - the knowledge-graph MCP tools through the official
// TypeScript SDK, over the graph test_graph.sh builds (systems A and B).
//   node graph_client.mjs stdio AKOSHA_BIN DATA_DIR
//   node graph_client.mjs http  URL
// Prints "ok: ..." lines; exits 1 on the first failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, a, b] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const client = new Client({ name: 'akosha-graph-test', version: '1.0.0' });
await client.connect(mode === 'stdio'
  ? new StdioClientTransport({ command: a, args: ['mcp', '--data', b], stderr: 'inherit' })
  : new StreamableHTTPClientTransport(new URL(a)));

const { tools } = await client.listTools();
for (const name of ['query_knowledge_graph', 'find_path', 'get_graph_statistics', 'find_entities'])
  check(tools.some((t) => t.name === name && t.inputSchema?.type === 'object'), `tools/list has ${name}`);

const call = async (name, args) => client.callTool({ name, arguments: args });

const q = await call('query_knowledge_graph', { entity_id: 'project:akosha' });
const r = q.structuredContent;
check(!q.isError && r.entity_id === 'project:akosha', 'query_knowledge_graph: the entity');
check(r.entity.observations.includes('aggregates memories') && r.entity.observations.includes('serves MCP tools'),
  `observations merged across systems: ${r.entity.observations}`);
check(r.entity.sources.length === 2, 'two systems sent it');
check(r.total_neighbors === 4 && r.neighbors.some((n) => n.entity_id === 'library:sqlite' && n.direction === 'out'),
  `neighbours of both systems: ${r.neighbors.map((n) => n.entity_id)}`);
const typed = await call('query_knowledge_graph', { entity_id: 'project:akosha', edge_type: 'works_on', limit: 1 });
check(typed.structuredContent.neighbors.length === 1 && typed.structuredContent.truncated === true,
  'edge_type and limit');

const p = await call('find_path', { source_id: 'person:alice', target_id: 'library:sqlite', max_hops: 3 });
check(!p.isError && p.structuredContent.path_found && p.structuredContent.hops === 2 &&
  JSON.stringify(p.structuredContent.path) === JSON.stringify(['person:alice', 'project:akosha', 'library:sqlite']),
  `find_path across systems: ${JSON.stringify(p.structuredContent.path)}`);
const none = await call('find_path', { source_id: 'person:alice', target_id: 'person:bob', max_hops: 1 });
check(!none.isError && none.structuredContent.path_found === false, 'find_path: none within max_hops');

const s = await call('get_graph_statistics', {});
check(!s.isError && s.structuredContent.total_entities === 5 && s.structuredContent.merged_entities === 1 &&
  s.structuredContent.systems.length === 2, `get_graph_statistics: ${JSON.stringify(s.structuredContent)}`);

const f = await call('find_entities', { prefix: 'a', limit: 10 });
check(!f.isError && f.structuredContent.entities.map((e) => e.entity_id).join() === 'project:akosha,person:alice',
  'find_entities by prefix');

const bad = [
  ['query_knowledge_graph', {}, 'entity_id: required'],
  ['query_knowledge_graph', { entity_id: 'project:nothing' }, 'no entity'],
  ['query_knowledge_graph', { entity_id: 'project:akosha', limit: 0 }, 'limit'],
  ['query_knowledge_graph', { entity_id: 7 }, 'must be a string'],
  ['find_path', { source_id: 'person:alice', target_id: 'library:sqlite', max_hops: 50 }, 'max_hops'],
  ['find_path', { source_id: 'person:alice' }, 'target_id: required'],
  ['find_entities', { bogus: 1 }, 'unknown argument'],
];
for (const [name, args, want] of bad) {
  const res = await call(name, args);
  check(res.isError && res.content[0].text.includes(want), `${name} bad arguments -> "${res.content[0].text}"`);
}
await client.close();
console.log('ok: all');

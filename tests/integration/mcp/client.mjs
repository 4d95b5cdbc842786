// client.mjs - drive akosha's MCP server with the official TypeScript SDK.
//   node client.mjs stdio AKOSHA_BIN DATA_DIR EMBED_URL
//   node client.mjs http  URL TOKEN
// (the server under test has an embedding provider: tests/integration/embed)
// Runs the checks below; prints "ok: ..." lines; exits 1 on the first
// failure with the reason.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, a, b, embedUrl] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function transport() {
  if (mode === 'stdio')
    return new StdioClientTransport({ command: a, args: ['mcp', '--data', b, '--embed-url', embedUrl],
      stderr: 'inherit' });
  return new StreamableHTTPClientTransport(new URL(a),
    { requestInit: { headers: { Authorization: `Bearer ${b}` } } });
}

const client = new Client({ name: 'akosha-test', version: '1.0.0' });
await client.connect(transport());
check(client.getServerVersion()?.name === 'akosha', 'initialize: server info');
check(typeof client.getInstructions() === 'string', 'initialize: instructions');
await client.ping();
check(true, 'ping');

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
check(JSON.stringify(names) === JSON.stringify(['analyze_trends', 'correlate_systems',
  'detect_anomalies', 'find_entities', 'find_path', 'generate_batch_embeddings',
  'generate_embedding', 'get_conversation', 'get_graph_statistics', 'get_ingestion_status',
  'get_system_metrics', 'list_systems', 'query_knowledge_graph', 'search_all_systems']),
  `tools/list: ${names}`);
check(tools.every((t) => t.inputSchema?.type === 'object' && t.description), 'tools have schemas');

// every tool, with real answers
const found = await client.callTool({ name: 'search_all_systems', arguments: { query: 'rebase', limit: 5 } });
const res = found.structuredContent;
check(!found.isError && res.results.length > 0 && res.results.every((r) => r.system_id && r.conversation_id),
  'search_all_systems: results');
check(res.shards_queried > 0 && Array.isArray(res.shards_failed), 'search_all_systems: shards');
check(JSON.parse(found.content[0].text).results.length === res.results.length, 'search: text block carries the JSON');
check(res.mode === 'hybrid' && !('embedding_error' in res), `search by words is hybrid: ${res.mode}`);
check(res.results.every((r) => typeof r.snippet === 'string' && r.snippet.length <= 306 &&
  typeof r.score === 'number' && !('content' in r)), 'results carry a snippet and the score, not the text');
const kw = await client.callTool({ name: 'search_all_systems', arguments: { text: 'rebase', limit: 5 } });
check(!kw.isError && kw.structuredContent.mode === 'text' &&
  kw.structuredContent.results.every((r) => /rebas/i.test(r.snippet)), 'text: keywords, the snippet shows the match');
const one = await client.callTool({ name: 'generate_embedding', arguments: { text: 'slow database cleanup' } });
const e = one.structuredContent;
check(!one.isError && e.embedding.length === 384 && e.dimension === 384 && e.embedding.every(Number.isFinite),
  'generate_embedding');
const batch = await client.callTool({ name: 'generate_batch_embeddings',
  arguments: { texts: ['slow database cleanup', 'rebase the branch', 'tls certificates'] } });
const be = batch.structuredContent;
check(!batch.isError && be.count === 3 && be.embeddings.length === 3 &&
  be.embeddings.every((v) => v.length === 384) &&
  be.embeddings[0].every((x, i) => Math.abs(x - e.embedding[i]) < 1e-6), 'generate_batch_embeddings, in order');
const first = res.results[0];
const conv = await client.callTool({ name: 'get_conversation',
  arguments: { system_id: first.system_id, conversation_id: first.conversation_id } });
check(!conv.isError && conv.structuredContent.conversation_id === first.conversation_id &&
  conv.structuredContent.content.length > 0, 'get_conversation');
const sys = await client.callTool({ name: 'list_systems', arguments: {} });
check(sys.structuredContent.systems.length === 5, 'list_systems: 5 systems (one holds only a rejected upload)');
const status = await client.callTool({ name: 'get_ingestion_status', arguments: {} });
const up = status.structuredContent.uploads;
check(up.ingested === 8 && up.rejected === 1 && status.structuredContent.rejected[0].reason.includes('checksum'),
  `get_ingestion_status: ${JSON.stringify(up)}`);
const one_sys = await client.callTool({ name: 'list_systems', arguments: { system_id: 'sys0001' } });
const m = one_sys.structuredContent.systems[0];
check(m.system_id === 'sys0001' && m.hot > 0 && m.last_activity && m.uploads.ingested === 2,
  'list_systems: one system');
// get_system_metrics lists metrics, not systems (tests/integration/mcp/analytics.mjs checks values)
const metrics = await client.callTool({ name: 'get_system_metrics', arguments: { system_id: 'sys0001' } });
const mm = metrics.structuredContent;
check(!metrics.isError && mm.metric_names.includes('conversation_count') &&
  mm.total_metrics === mm.metric_names.length && !('systems' in mm && Array.isArray(mm.systems)),
  'get_system_metrics: the metric names');

// vector search through the same tool
const vector = Array.from({ length: 384 }, (_, i) => Math.sin(i + 1));
const byVector = await client.callTool({ name: 'search_all_systems', arguments: { vector, limit: 3 } });
check(!byVector.isError && byVector.structuredContent.results.length === 3, 'search by vector');

// bad arguments: tool errors with clear messages, never a crash or a hang
const bad = [
  [{ name: 'search_all_systems', arguments: {} }, 'give a query'],
  [{ name: 'search_all_systems', arguments: { query: 'x', limit: 5000 } }, 'limit'],
  [{ name: 'search_all_systems', arguments: { vector: [1, 2, 3] } }, 'vector: has 3 numbers'],
  [{ name: 'search_all_systems', arguments: { vector: Array(384).fill(0) } }, 'all zeros'],
  [{ name: 'search_all_systems', arguments: { query: 'x', bogus: 1 } }, 'unknown'],
  [{ name: 'get_conversation', arguments: { system_id: '../etc', conversation_id: 'x' } }, 'system id'],
  [{ name: 'get_conversation', arguments: { system_id: 'sys0001' } }, 'conversation_id: required'],
  [{ name: 'get_conversation', arguments: { system_id: 'sys0001', conversation_id: 'nope' } }, 'has no conversation'],
  [{ name: 'get_ingestion_status', arguments: { limit: 'ten' } }, 'limit'],
  [{ name: 'search_all_systems', arguments: { query: 'x', text: 'y' } }, 'not both'],
  [{ name: 'generate_embedding', arguments: {} }, 'text: required'],
  [{ name: 'generate_embedding', arguments: { text: 7 } }, 'text: must be a string'],
  [{ name: 'generate_batch_embeddings', arguments: { texts: [] } }, 'texts: must be a list of 1 to 64'],
  [{ name: 'generate_batch_embeddings', arguments: { texts: Array(65).fill('a') } }, 'texts: must be a list'],
  [{ name: 'generate_batch_embeddings', arguments: { texts: ['a', 1] } }, 'every item must be a string'],
];
for (const [call, want] of bad) {
  const r = await client.callTool(call);
  check(r.isError && r.content[0].text.includes(want), `bad arguments -> tool error "${r.content[0].text}"`);
}
let unknown = false;
try { await client.callTool({ name: 'no_such_tool', arguments: {} }); } catch (e) { unknown = /unknown tool/.test(e.message); }
check(unknown, 'unknown tool -> JSON-RPC error');

// a large result
const big = await client.callTool({ name: 'search_all_systems', arguments: { query: 'the rebase index query', limit: 1000 } });
check(!big.isError && big.structuredContent.results.length > 100, `large result: ${big.structuredContent.results.length} results`);

// concurrent calls
const many = await Promise.all(Array.from({ length: 24 }, (_, i) =>
  client.callTool({ name: i % 2 ? 'list_systems' : 'search_all_systems', arguments: i % 2 ? {} : { query: 'merge', limit: 3 } })));
check(many.every((r) => !r.isError), `${many.length} concurrent calls`);

await client.close();
console.log('ok: all');

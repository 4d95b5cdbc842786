// analytics.mjs - the analytics tools through the official MCP SDK client,
// over streamable HTTP, on the data test_analytics.sh builds.
//   node analytics.mjs URL TOKEN END_DATE SPIKE_DATE
// Prints "ok: ..." lines; exits 1 on the first failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token, end, spikeDate] = process.argv.slice(2);

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const client = new Client({ name: 'akosha-analytics-test', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url),
  { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));

const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  check(!/NaN|Infinity/.test(r.content[0].text), `${name}: no NaN in the answer`);
  return r;
};

const { tools } = await client.listTools();
for (const t of ['analyze_trends', 'detect_anomalies', 'correlate_systems', 'get_system_metrics'])
  check(tools.some((x) => x.name === t && x.inputSchema.type === 'object'), `tools/list: ${t}`);

let r = await call('analyze_trends', { metric_name: 'conversation_count', system_id: 'ramp.example.com',
  time_window_days: 14, end_date: end });
let s = r.structuredContent;
check(!r.isError && s.trend_direction === 'increasing' && Math.abs(s.trend_strength - 1) < 1e-9 &&
  Math.abs(s.percent_change - 1300) < 1e-6 && s.confidence > 0.999 && s.time_range[1] === end,
  `analyze_trends: the ramp 1..14 (${JSON.stringify(s)})`);

r = await call('analyze_trends', { metric_name: 'conversation_count', system_id: 'ramp.example.com',
  project: 'akosha', category: 'bug', time_window_days: 14, end_date: end });
check(!r.isError && r.structuredContent.values.filter((v) => v > 0).length === 7,
  'analyze_trends: project and category filter the series');

r = await call('detect_anomalies', { metric_name: 'conversation_count', system_id: 'spike.example.com',
  time_window_days: 20, threshold_std: 3, end_date: end });
s = r.structuredContent;
check(!r.isError && s.anomaly_count === 1 && s.anomalies[0].value === 40 &&
  s.anomalies[0].date === spikeDate && s.anomalies[0].system_id === 'spike.example.com',
  `detect_anomalies: the planted spike (${JSON.stringify(s.anomalies)})`);

r = await call('correlate_systems', { metric_name: 'conversation_count', time_window_days: 20, end_date: end });
s = r.structuredContent;
const twins = s.correlations.find((c) => c.system_1 === 'twin-1.example.com' && c.system_2 === 'twin-2.example.com');
check(!r.isError && twins && Math.abs(twins.correlation - 1) < 1e-9 && twins.strength === 'strong',
  'correlate_systems: identical systems correlate 1');

r = await call('get_system_metrics', { system_id: 'ramp.example.com', time_range_days: 14, end_date: end });
s = r.structuredContent;
const conv = s.metrics.find((m) => m.name === 'conversation_count');
const refl = s.metrics.find((m) => m.name === 'reflection_count');
check(!r.isError && conv.total === 105 && refl.total === 14 && s.metric_names.length === s.total_metrics,
  'get_system_metrics: values of one system');

r = await call('analyze_trends', { metric_name: 'conversation_count', system_id: 'young.example.com',
  time_window_days: 14, end_date: end });
check(!r.isError && r.structuredContent.error === 'Insufficient data for trend analysis' &&
  !('trend_strength' in r.structuredContent), 'too little data: said so, no number made up');

const bad = [
  [{ name: 'analyze_trends', arguments: {} }, 'metric_name: required'],
  [{ name: 'analyze_trends', arguments: { metric_name: 'quality_score' } }, 'no metric'],
  [{ name: 'detect_anomalies', arguments: { metric_name: 'new_count', threshold_std: -1 } }, 'threshold_std'],
  [{ name: 'correlate_systems', arguments: { metric_name: 'new_count', system_id: 'x' } }, 'unknown argument'],
  [{ name: 'analyze_trends', arguments: { metric_name: 'new_count', system_id: '../x' } }, 'system id'],
  [{ name: 'analyze_trends', arguments: { metric_name: 'new_count', time_window_days: 9999 } }, 'time_window_days'],
];
for (const [req, msg] of bad) {
  const e = await client.callTool(req);
  check(e.isError && e.content[0].text.includes(msg), `${req.name} ${JSON.stringify(req.arguments)}: ${msg}`);
}
await client.close();
console.log('ok: all');

/*
 * cmd_serve.c - `akosha serve`: the daemon (src/server/server.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "server/push.h"
#include "server/server.h"
#include "tier/age.h"
#include "util/log.h"
#include "util/time.h"

int ak_cmd_serve(int argc, char **argv)
{
    const char *data = NULL, *bucket = NULL, *cold = NULL, *listen = "127.0.0.1:8682";
    const char *tokens = NULL, *token_file = NULL, *mahavishnu = NULL, *admin = NULL;
    const char *tls_cert = NULL, *tls_key = NULL;
    long long poll = 30, aging = 3600, drain = 30, concurrency = 4, threads = 0;
    long long header_timeout = 10, max_conns = 1000, max_conns_client = 64;
    long long max_body_kb = 1024, push_max_body_mb = AK_PUSH_DEFAULT_MAX_BODY >> 20, hot_days = AK_AGE_DEFAULT_HOT_DAYS;
    long long bucket_keep = 0, retention = 0, warm_days = AK_AGE_DEFAULT_WARM_DAYS, mtimeout = 3000, grace = 3600, retry_base = 30;
    double rate = 50, burst = 100;
    int auth_all = 0, allow_plain = 0;
    ak_embed_config ec;
    ak_embed_config_init(&ec);
    const ak_opt opts[] = {
        AK_OPT_DATA(&data),
        {"bucket", "AKOSHA_BUCKET", AK_OPT_STR, &bucket, "URL", "bucket to ingest from", 0, 0},
        {"cold", "AKOSHA_COLD_URL", AK_OPT_STR, &cold, "URL", "cold store (default file://DATA/cold)", 0, 0},
        {"listen", "AKOSHA_LISTEN", AK_OPT_STR, &listen, "HOST:PORT", "address (default 127.0.0.1:8682)", 0, 0},
        {"tokens", "AKOSHA_API_TOKENS", AK_OPT_STR, &tokens, "T1,T2", "bearer tokens (at least 16 characters each)", 0, 0},
        {"token-file", "AKOSHA_TOKEN_FILE", AK_OPT_STR, &token_file, "FILE", "bearer tokens, one per line", 0, 0},
        {"tls-cert", "AKOSHA_TLS_CERT", AK_OPT_STR, &tls_cert, "FILE", "serve HTTPS with this PEM certificate (chain)", 0, 0},
        {"tls-key", "AKOSHA_TLS_KEY", AK_OPT_STR, &tls_key, "FILE", "... and this PEM private key", 0, 0},
        {"allow-plain-http", "AKOSHA_ALLOW_PLAIN_HTTP", AK_OPT_FLAG, &allow_plain, NULL, "allow tokens over plain HTTP beyond loopback (a TLS proxy in front)", 0, 0},
        {"admin-tokens", "AKOSHA_ADMIN_TOKENS", AK_OPT_STR, &admin, "T1,T2", "bearer tokens for DELETE /v1/systems/ID (default: any API token)", 0, 0},
        {"auth-all", "AKOSHA_AUTH_ALL", AK_OPT_FLAG, &auth_all, NULL, "require a token on /health, /ready and /metrics too", 0, 0},
        {"rate-limit", "AKOSHA_RATE_LIMIT", AK_OPT_DOUBLE, &rate, "N", "requests a second per token (0: none; default 50)", 0, 1e6},
        {"rate-burst", "AKOSHA_RATE_BURST", AK_OPT_DOUBLE, &burst, "N", "burst above the rate (default 100)", 0, 1e6},
        {"header-timeout", "AKOSHA_HEADER_TIMEOUT", AK_OPT_INT, &header_timeout, "S", "a request's headers must arrive within this, in total (default 10)", 1, 3600},
        {"max-connections", "AKOSHA_MAX_CONNECTIONS", AK_OPT_INT, &max_conns, "N", "connections open at most; beyond, the slowest to send headers is closed (default 1000)", 1, 1000000},
        {"max-connections-per-client", "AKOSHA_MAX_CONNECTIONS_PER_CLIENT", AK_OPT_INT, &max_conns_client, "N", "connections per client address (default 64; 0: no bound)", 0, 1000000},
        {"max-body-kb", "AKOSHA_MAX_BODY_KB", AK_OPT_INT, &max_body_kb, "KB", "request body limit (default 1024)", 1, 1048576},
        {"push-max-body-mb", "AKOSHA_PUSH_MAX_BODY_MB", AK_OPT_INT, &push_max_body_mb, "MB", "body limit of Session-Buddy's push, /mcp/v1 (default 32: 1,000 memories with embeddings)", 1, 1024},
        {"poll-interval", "AKOSHA_POLL_INTERVAL", AK_OPT_INT, &poll, "S", "seconds between ingestion cycles (default 30)", 1, 86400},
        {"aging-interval", "AKOSHA_AGING_INTERVAL", AK_OPT_INT, &aging, "S", "seconds between aging passes (default 3600)", 1, 604800},
        {"hot-days", "AKOSHA_HOT_DAYS", AK_OPT_INT, &hot_days, "N", "hot rows older than this go warm (default 7)", 1, 36500},
        {"warm-days", "AKOSHA_WARM_DAYS", AK_OPT_INT, &warm_days, "N", "warm rows older than this go cold (default 90)", 1, 36500},
        {"bucket-keep-snapshots", "AKOSHA_BUCKET_KEEP_SNAPSHOTS", AK_OPT_INT, &bucket_keep, "N", "after a cycle that ingested something, prune the bucket to the newest N ingested uploads per system (akosha prune-bucket; default 0: off)", 0, 1000000},
        {"retention-days", "AKOSHA_RETENTION_DAYS", AK_OPT_INT, &retention, "N", "drop conversations older than this from every tier while aging (default 0: keep all)", 0, 365000},
        {"drain-seconds", "AKOSHA_DRAIN_SECONDS", AK_OPT_INT, &drain, "S", "shutdown waits this long for work in flight (default 30)", 0, 3600},
        {"grace-seconds", "AKOSHA_GRACE_SECONDS", AK_OPT_INT, &grace, "S", "reject an upload whose payload is still missing after this (default 3600)", 0, 1e9},
        {"retry-base-seconds", "AKOSHA_RETRY_BASE_SECONDS", AK_OPT_INT, &retry_base, "S", "first retry delay of a failed upload, doubling (default 30; 0 = every cycle)", 0, 86400},
        {"concurrency", "AKOSHA_CONCURRENCY", AK_OPT_INT, &concurrency, "N", "uploads in flight (default 4)", 1, 256},
        {"http-threads", "AKOSHA_HTTP_THREADS", AK_OPT_INT, &threads, "N", "HTTP threads: 0 (default) one per connection, N a pool of N that share the connections", 0, 256},
        {"mahavishnu", "AKOSHA_MAHAVISHNU_URL", AK_OPT_STR, &mahavishnu, "URL", "Mahavishnu JSON-RPC endpoint (default: standalone)", 0, 0},
        {"mahavishnu-timeout-ms", "AKOSHA_MAHAVISHNU_TIMEOUT_MS", AK_OPT_INT, &mtimeout, "MS", "call timeout (default 3000)", 1, 60000},
        AK_OPT_EMBED(&ec),
    };
    const ak_cmd_spec spec = {"serve", "--data DIR [--bucket URL] [--cold URL] [--listen HOST:PORT] ...",
                              "Run the daemon: HTTP API, ingestion poller, aging scheduler, metrics.",
                              opts, (int)(sizeof opts / sizeof *opts), 0, 0};
    char **pos;
    int npos, rc = ak_cmd_parse(&spec, argc, argv, &pos, &npos);
    if (rc >= 0)
        return rc;
    if (warm_days < hot_days)
        return ak_opts_usage_error(&spec, "--warm-days (%lld) is less than --hot-days (%lld)",
                                   warm_days, hot_days);
    const char *log_format = getenv("AKOSHA_LOG_FORMAT");
    if (!log_format || !*log_format)
        ak_log_init(AK_LOG_JSON); /* a daemon logs for machines */
    ak_log_set_timestamps(1);     /* and text lines say when too */
    ak_serve_config cfg = {
        .data_dir = data, .bucket_url = bucket, .cold_url = cold, .listen = listen,
        .tokens = tokens, .token_file = token_file, .mahavishnu_url = mahavishnu,
        .tls_cert = tls_cert && *tls_cert ? tls_cert : NULL,
        .tls_key = tls_key && *tls_key ? tls_key : NULL, .allow_plain_http = allow_plain,
        .header_timeout_us = header_timeout * AK_US_PER_SEC, .max_conns = (unsigned)max_conns,
        .max_conns_per_client = (unsigned)max_conns_client, .admin_tokens = admin,
        .poll_us = poll * AK_US_PER_SEC, .aging_us = aging * AK_US_PER_SEC,
        .drain_us = drain * AK_US_PER_SEC, .hot_days = hot_days, .warm_days = warm_days,
        .retention_days = retention,
        .bucket_keep = bucket_keep,
        .concurrency = (unsigned)concurrency, .http_threads = (unsigned)threads,
        .max_body = (size_t)max_body_kb * 1024,
        .push_max_body = (size_t)push_max_body_mb << 20, .rate = rate, .burst = burst,
        .mahavishnu_timeout_ms = mtimeout, .auth_all = auth_all,
        .grace_us = grace ? grace * AK_US_PER_SEC : 1, /* 0 s: reject at once */
        .retry_base_us = retry_base ? retry_base * AK_US_PER_SEC : -1,
        .embed = ec,
    };
    ak_embed_config_resolve(&cfg.embed);
    return ak_serve_run(&cfg);
}

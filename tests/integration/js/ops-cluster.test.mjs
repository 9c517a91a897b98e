// Operations metrics in a cluster (issue 17): webpubsub_cluster_nodes follows the nodes alive on
// Redis (two, then one after a node is killed and its heartbeat expires) and
// webpubsub_redis_reconnects_total counts a reconnection after Redis restarts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, delay } from './harness.mjs';
import { startRedis, waitForNodes, freePort } from './cluster-harness.mjs';

const servers = [];
let redis;
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await redis?.stop();
});

async function metric(port, name) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await res.text());
  return m ? Number(m[1]) : undefined;
}

async function until(port, name, value, timeoutMs, label) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await metric(port, name);
    if (last === value) return;
    if (Date.now() > deadline) assert.fail(`${label}: ${name} is ${last}, expected ${value}`);
    await delay(100);
  }
}

test('cluster nodes and Redis reconnects', async () => {
  redis = await startRedis();
  const ports = [await freePort(), await freePort()];
  for (const port of ports) {
    servers.push(
      await startServer({
        args: ['--redis-url', redis.url, '--metrics-port', String(port), '--cluster-node-ttl-ms', '2000'],
      }),
    );
  }
  await waitForNodes(redis, 2);
  await until(ports[0], 'webpubsub_cluster_nodes', 2, 5000, 'node A sees both');
  await until(ports[1], 'webpubsub_cluster_nodes', 2, 5000, 'node B sees both');
  assert.equal(await metric(ports[0], 'webpubsub_redis_reconnects_total'), 0);

  await servers[1].stop('SIGKILL');
  await until(ports[0], 'webpubsub_cluster_nodes', 1, 8000, 'B dropped after its TTL');

  const port = redis.port;
  await redis.stop('SIGKILL');
  redis = await startRedis(port);
  await until(ports[0], 'webpubsub_redis_reconnects_total', 1, 15000, 'A reconnected');
  await until(ports[0], 'webpubsub_cluster_nodes', 1, 5000, 'A alone after the restart');
});

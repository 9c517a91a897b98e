// A Redis server and several webpubsub-server nodes sharing it, on loopback, for the cluster
// tests (cluster*.test.mjs) and for running the REST suites with WPS_CLUSTER=1.
import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import assert from 'node:assert/strict';
import { startServer, withTimeout, delay, jsonClient, closeAll } from './harness.mjs';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` on `port` (a free one by default), without persistence. */
export async function startRedis(port, { password } = {}) {
  port = port ?? (await freePort());
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(password ? ['--requirepass', password] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (c) => {
      out += c;
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('error', reject);
    exited.then(({ code }) => reject(new Error(`redis-server exited (${code}):\n${out}`)));
  });
  await withTimeout(ready, 10000, 'redis-server ready');
  return {
    port,
    url: password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    proc,
    async stop(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        await exited;
      }
    },
    /** Runs one redis-cli command; resolves its stdout lines. */
    cli(...args) {
      return new Promise((resolve, reject) => {
        execFile('redis-cli', ['-p', String(port), ...(password ? ['--no-auth-warning', '-a', password] : []), ...args], { timeout: 5000 }, (err, stdout) =>
          err ? reject(err) : resolve(stdout.trim().split('\n')),
        );
      });
    },
    /** Subscribers of `channel` (one per node that listens to it). */
    async numsub(channel) {
      const lines = await this.cli('PUBSUB', 'NUMSUB', channel);
      return Number(lines[1]);
    },
  };
}

/** Waits until `n` nodes listen on the command channel (every node is connected). */
export async function waitForNodes(redis, n, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let subs = -1;
    try {
      subs = await redis.numsub('wps:0:cmd');
    } catch {
      /* redis not up yet */
    }
    if (subs === n) return;
    if (Date.now() > deadline) throw new Error(`expected ${n} nodes on Redis, saw ${subs}`);
    await delay(50);
  }
}

/** Starts `n` nodes on `redis` (extra server args in `args`) and waits for all to join. */
export async function startNodes(redis, n, { args = [] } = {}) {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(await startServer({ args: ['--redis-url', redis.url, ...args] }));
  await waitForNodes(redis, n);
  return nodes;
}

/**
 * A stand-in for one server whose every use of port / endpoint / connectionString goes to the
 * next node in turn, so that a test written for one server spreads its clients and REST calls
 * round-robin over the cluster. Tokens are checked with --audience-ignore-host, since a token
 * minted for one node's URL is then sent to another (as behind a load balancer).
 */
export async function startRoundRobinCluster({ nodes: count = 3, args = [] } = {}) {
  const redis = await startRedis();
  const nodes = await startNodes(redis, count, { args: ['--audience-ignore-host', ...args] });
  let next = 0;
  const pick = () => nodes[next++ % nodes.length];
  return {
    nodes,
    redis,
    key: nodes[0].key,
    get port() {
      return pick().port;
    },
    get endpoint() {
      return pick().endpoint;
    },
    get connectionString() {
      return pick().connectionString;
    },
    output: () => nodes.map((s, i) => `=== node ${i}\n${s.output()}`).join('\n'),
    async stop(signal = 'SIGTERM', timeoutMs = 5000) {
      for (const s of nodes) {
        try {
          await s.stop(signal, timeoutMs);
        } catch {
          /* ignore */
        }
      }
      await redis.stop();
    },
  };
}

/** The ports a URL minted by `server` may name: its own, or any node's in a cluster. */
export function portPattern(server) {
  return server.nodes ? `(?:${server.nodes.map((n) => n.port).join('|')})` : String(server.port);
}

/** startServer(), or a round-robin cluster when WPS_CLUSTER=1 (run.sh's second REST pass). */
export async function startServerOrCluster(options = {}) {
  if (process.env.WPS_CLUSTER === '1') return startRoundRobinCluster({ args: options.args ?? [] });
  return startServer(options);
}

// A load balancer in front of the nodes: one TCP port forwarding each new connection to the
// node named by `target` (switched by the test when its node dies).
export async function balancer(target) {
  const state = { target, sockets: new Set() };
  const srv = net.createServer((down) => {
    const up = net.connect(state.target.port, '127.0.0.1');
    state.sockets.add(down).add(up);
    down.pipe(up).pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  state.port = srv.address().port;
  state.close = () => {
    for (const s of state.sockets) s.destroy();
    return new Promise((resolve) => srv.close(resolve));
  };
  return state;
}

export const CLUSTER_ROLES = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];

/**
 * One redis-server and three nodes for a cluster test file, with helpers bound to `hub`: call
 * start() in `before` (then `redis` and `nodes` are set) and stop() in `after`, which also closes
 * the clients made by client() and the SDK clients pushed on `sdkClients`.
 */
export function clusterFixture(hub, { graceMs = 300 } = {}) {
  const f = {
    redis: null,
    nodes: [],
    clients: [],
    sdkClients: [],
    async start() {
      f.redis = await startRedis();
      // A short unsubscribe grace, so that tests see the unsubscribe.
      f.nodes = await startNodes(f.redis, 3, {
        args: ['--audience-ignore-host', '--cluster-unsubscribe-grace-ms', String(graceMs)],
      });
    },
    /** A new redis-server on the same port (the old one stopped first); stop() stops the new one. */
    async restartRedis() {
      await f.redis.stop();
      f.redis = await startRedis(f.redis.port);
      return f.redis;
    },
    async stop() {
      for (const c of f.sdkClients) c.stop();
      closeAll(...f.clients);
      for (const s of f.nodes) await s.stop().catch(() => {});
      await f.redis?.stop();
    },
    /** A json.webpubsub.azure.v1 client on `node` with CLUSTER_ROLES, closed by stop(). */
    async client(node, opts = {}) {
      const c = await jsonClient(node, hub, { roles: CLUSTER_ROLES, ...opts });
      f.clients.push(c);
      return c;
    },
    groupChannel: (group) => `wps:0:g:${hub}:${group}`,
    async join(c, group, ackId) {
      c.send({ type: 'joinGroup', group, ackId });
      const ack = await c.q.ack(ackId);
      assert.equal(ack.success, true, JSON.stringify(ack));
    },
  };
  return f;
}

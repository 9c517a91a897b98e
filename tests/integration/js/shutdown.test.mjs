// SIGTERM / SIGINT: every JSON client receives the `disconnected` system message and a close
// frame with 1001, simple clients get a proper close frame, and the process exits with status 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, jsonClient, simpleClient, closeAll, withTimeout } from './harness.mjs';

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal}: disconnected + close 1001 for each JSON client, exit status 0`, async () => {
    const server = await startServer();
    const clients = [];
    try {
      const a = await jsonClient(server, 'down', { userId: 'a', groups: ['g'] });
      const b = await jsonClient(server, 'down2', { userId: 'b' });
      const s = await simpleClient(server, 'down', {});
      clients.push(a, b, s);
      const { code, signal: sig } = await server.stop(signal, 10000);
      assert.equal(sig, null, `server died of signal ${sig}\n${server.output()}`);
      assert.equal(code, 0, `exit status\n${server.output()}`);
      for (const c of [a, b]) {
        const close = await c.q.waitClose(3000);
        const last = c.q.items.at(-1);
        assert.equal(last?.json?.type, 'system', `last message: ${last?.text}`);
        assert.equal(last?.json?.event, 'disconnected', `last message: ${last?.text}`);
        assert.equal(typeof last?.json?.message, 'string');
        assert.equal(close.code, 1001, `close code (reason ${close.reason})`);
      }
      const sc = await s.q.waitClose(3000);
      assert.notEqual(sc.code, 1006, 'simple client must get a close frame, not a dropped TCP connection');
      assert.equal(s.q.items.length, 0, `simple client got: ${s.q.describe()}`);
    } finally {
      closeAll(...clients);
      await server.stop().catch(() => {});
    }
  });
}

test('SIGTERM with no clients exits promptly with status 0', async () => {
  const server = await startServer();
  const t0 = Date.now();
  const { code } = await withTimeout(server.stop('SIGTERM', 10000), 11000, 'exit');
  assert.equal(code, 0, server.output());
  assert.ok(Date.now() - t0 < 5000, 'exited within 5 s');
});

// Event handlers, part 3 (issue 4 acceptance, spec §8.5, §8.7, §8.10): a handler that never
// answers. With --event-handler-timeout-ms 1500 a connecting client is refused (500) within the
// timeout, a hanging user event fails (InternalServerError ack / close 1011) within it, and
// meanwhile other clients of the same hub and of another hub keep working.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  stopAll,
  jsonClient,
  simpleClient,
  clientToken,
  clientUrl,
  expectRefused,
  assertStillWorking,
  closeAll,
  delay,
  JSON_PROTOCOL,
} from './harness.mjs';
import { startExpressHandler, startRawHandler, answerValidation, isEvent } from './webhook-helpers.mjs';

const TIMEOUT_MS = 1500;
const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('a handler that never answers: answers within the configured timeout, other traffic continues', async () => {
  const slowHub = 'whslow';
  const fastHub = 'whfast';
  // raw handler: validates fine, answers everything except the connect of user "slow" and the
  // user event "hang", which it never answers
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connect')) {
      const body = JSON.parse(rec.body.toString('utf8'));
      if (body.claims?.sub?.[0] === 'slow') return; // never answered
      res.writeHead(204);
      return res.end();
    }
    if (isEvent(rec, 'azure.webpubsub.user.hang') || isEvent(rec, 'azure.webpubsub.user.message')) return; // never answered
    if (rec.header('ce-type')?.startsWith('azure.webpubsub.user.')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end(`quick:${rec.body.toString('utf8')}`);
    }
    res.writeHead(200);
    res.end();
  });
  cleanups.push(raw.close);
  const fast = await startExpressHandler(fastHub, { handleUserEvent: (req, res) => res.success(`fast:${req.data}`, 'text') });
  cleanups.push(fast.close);
  const server = await startServer({
    config: {
      hubs: {
        [slowHub]: { eventHandlers: [{ urlTemplate: raw.urlTemplate, systemEvents: ['connect', 'connected', 'disconnected'], userEventPattern: '*' }] },
        [fastHub]: { eventHandlers: [{ urlTemplate: fast.urlTemplate, systemEvents: ['connected', 'disconnected'], userEventPattern: '*' }] },
      },
    },
    args: ['--event-handler-timeout-ms', String(TIMEOUT_MS)],
  });
  cleanups.push(() => stopAll(server));

  const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
  const pub = await jsonClient(server, slowHub, { userId: 'pub', roles, groups: ['g'] });
  const sub = await jsonClient(server, slowHub, { userId: 'sub', roles, groups: ['g'] });
  const other = await jsonClient(server, fastHub, { userId: 'other' });
  const hanger = await simpleClient(server, slowHub, { userId: 'hanger' });
  try {
    await assertStillWorking(pub, sub, 'g', 'before');

    // 1. a connecting client whose connect is never answered
    const token = clientToken({ port: server.port, hub: slowHub, key: server.key, userId: 'slow' });
    const t0 = Date.now();
    let settledAt = null;
    const refused = expectRefused(clientUrl(server.port, slowHub, token), { protocols: [JSON_PROTOCOL], timeoutMs: 8000 }).finally(() => {
      settledAt = Date.now();
    });
    // 2. a user event that is never answered, from `pub` (its own later events wait behind it)
    pub.send({ type: 'event', event: 'hang', dataType: 'text', data: 'x', ackId: 1 });
    // 3. a simple client's message that is never answered
    hanger.send('are you there?');

    // meanwhile: the same hub keeps working for others, new clients connect, the other hub too
    await delay(200);
    for (let i = 0; i < 3; i++) {
      await assertStillWorking(sub, sub, 'g', `during-${i}`);
      await delay(100);
    }
    const late = await jsonClient(server, slowHub, { userId: 'late' });
    late.send({ type: 'event', event: 'quick', dataType: 'text', data: 'hey', ackId: 7 });
    assert.equal((await late.q.ack(7)).success, true);
    assert.equal((await late.q.nextJson((m) => m.type === 'message', 2000, 'quick reply')).data, 'quick:hey');
    other.send({ type: 'event', event: 'e', dataType: 'text', data: 'other hub', ackId: 1 });
    assert.equal((await other.q.ack(1)).success, true);
    assert.equal((await other.q.nextJson((m) => m.type === 'message', 2000, 'fast reply')).data, 'fast:other hub');
    const otherConnect = await jsonClient(server, fastHub, { userId: 'other2' });
    closeAll(late, otherConnect);
    assert.equal(settledAt, null, `the hanging connect was answered already after ${Date.now() - t0} ms`);

    // the hanging connect ends with 500 within the timeout (with some slack)
    assert.equal(await refused, 500);
    const elapsed = settledAt - t0;
    assert.ok(elapsed >= TIMEOUT_MS - 200, `refused after ${elapsed} ms, before the ${TIMEOUT_MS} ms timeout`);
    assert.ok(elapsed <= TIMEOUT_MS + 1500, `refused after ${elapsed} ms, long after the ${TIMEOUT_MS} ms timeout`);

    // the hanging user event fails with InternalServerError, and the simple client is closed 1011
    const ack = await pub.q.ack(1, TIMEOUT_MS + 1500);
    assert.equal(ack.error?.name, 'InternalServerError', JSON.stringify(ack));
    assert.equal((await hanger.q.waitClose(TIMEOUT_MS + 1500)).code, 1011);
    await assertStillWorking(pub, sub, 'g', 'after');
    assert.ok(Date.now() - t0 < 3 * TIMEOUT_MS + 2000);
  } finally {
    closeAll(pub, sub, other, hanger);
  }
});

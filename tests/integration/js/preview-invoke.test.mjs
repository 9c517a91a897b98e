// Preview invoke (spec §6.9, §8.7; docs/PROTOCOL.md "Preview features"): the official client's
// `invokeEvent` answered by an @azure/web-pubsub-express handler with json, text and binary; no
// handler, a failing and a slow handler (the server's upstream timeout), cancelled; the
// connection stays open throughout. A raw JSON client checks what the SDK hides: frames are read
// while an invocation waits, cancelInvocation suppresses the answer, bad input gets an answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonReliableProtocol, InvocationError } from '@azure/web-pubsub-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, stopAll, jsonClient, delay, withTimeout } from './harness.mjs';
import { startExpressHandler, hubConfig } from './webhook-helpers.mjs';

const HUB = 'invoke';
const TIMEOUT_MS = 1500;
let server;
let handler;
const clients = [];

before(async () => {
  handler = await startExpressHandler(HUB, {
    handleUserEvent: async (req, res) => {
      const name = req.context.eventName;
      if (name === 'echo') return res.success(req.data, req.dataType);
      if (name === 'json') return res.success(JSON.stringify({ got: req.data, type: req.dataType }), 'json');
      if (name === 'binary') return res.success(Buffer.from([0, 1, 2, 255]), 'binary');
      if (name === 'empty') return res.success();
      if (name === 'fail') return res.fail(500, 'handler failed on purpose');
      if (name === 'slow') {
        await delay(Number(req.data) || 5000);
        return res.success('late', 'text');
      }
      return res.success();
    },
  });
  // Only the events the handler is meant for: 'nohandler' matches no handler.
  const config = hubConfig(HUB, handler.urlTemplate, { systemEvents: [], userEventPattern: 'echo,json,binary,empty,fail,slow' });
  server = await startServer({ config, args: ['--event-handler-timeout-ms', String(TIMEOUT_MS)] });
});

after(async () => {
  for (const c of clients) c.stop();
  await delay(100);
  await stopAll(server);
  await handler?.close();
});

async function sdkClient() {
  const service = new WebPubSubServiceClient(server.connectionString, HUB);
  const { url } = await service.getClientAccessToken({ userId: 'inv' });
  const client = new WebPubSubClient(url, {
    protocol: WebPubSubJsonReliableProtocol(),
    autoReconnect: false,
    keepAliveIntervalInMs: 300,
    keepAliveTimeoutInMs: 1500,
  });
  clients.push(client);
  const disconnects = [];
  client.on('disconnected', (e) => disconnects.push(e));
  await withTimeout(client.start(), 5000, 'start');
  return { client, disconnects };
}

test('invokeEvent answered by an express handler: text, json, binary, empty; no handler, failing and slow handlers, cancel', async () => {
  const { client, disconnects } = await sdkClient();
  const text = await withTimeout(client.invokeEvent('echo', 'hello', 'text'), 5000, 'echo');
  assert.equal(text.dataType, 'text');
  assert.equal(text.data, 'hello');

  const json = await withTimeout(client.invokeEvent('json', { a: [1, 2] }, 'json'), 5000, 'json');
  assert.equal(json.dataType, 'json');
  assert.deepEqual(json.data, { got: { a: [1, 2] }, type: 'json' });

  const binary = await withTimeout(client.invokeEvent('binary', new Uint8Array([9]).buffer, 'binary'), 5000, 'binary');
  assert.equal(binary.dataType, 'binary');
  assert.deepEqual([...new Uint8Array(binary.data)], [0, 1, 2, 255]);

  const empty = await withTimeout(client.invokeEvent('empty', 'x', 'text'), 5000, 'empty');
  assert.equal(empty.dataType, undefined);
  assert.equal(empty.data, undefined);

  // No handler for the event, a failing handler, a handler slower than the server's timeout:
  // each rejects with the service's InternalServerError, not retried, connection open.
  for (const [event, data] of [
    ['nohandler', 'x'],
    ['fail', 'x'],
    ['slow', String(TIMEOUT_MS + 2000)],
  ]) {
    const started = Date.now();
    const err = await withTimeout(
      client.invokeEvent(event, data, 'text').then(
        () => null,
        (e) => e,
      ),
      TIMEOUT_MS + 4000,
      event,
    );
    assert.ok(err instanceof InvocationError, `${event}: ${err}`);
    assert.equal(err.errorDetail?.name, 'InternalServerError', `${event}: ${JSON.stringify(err.errorDetail)}`);
    if (event === 'slow') assert.ok(Date.now() - started >= TIMEOUT_MS - 100, 'the timeout ended it');
  }

  // Cancelled by the caller: the SDK rejects and sends cancelInvocation; the connection stays.
  const controller = new AbortController();
  const pending = client.invokeEvent('slow', '800', 'text', { abortSignal: controller.signal }).then(
    () => null,
    (e) => e,
  );
  await delay(100);
  controller.abort();
  assert.ok(await withTimeout(pending, 3000, 'aborted invoke'), 'the aborted invocation rejects');
  await delay(1000); // the handler answers the cancelled one meanwhile: ignored
  const after = await withTimeout(client.invokeEvent('echo', 'after', 'text'), 5000, 'echo after');
  assert.equal(after.data, 'after');
  assert.deepEqual(disconnects, [], 'the connection stayed open');
});

test('raw JSON: frames are read while an invocation waits; cancelInvocation suppresses the answer; bad input gets answers', async () => {
  const c = await jsonClient(server, HUB);
  try {
    c.send({ type: 'invoke', invocationId: 'slow-1', target: 'event', event: 'slow', dataType: 'text', data: '700' });
    c.send({ type: 'invoke', invocationId: 'slow-2', target: 'event', event: 'slow', dataType: 'text', data: '700' });
    c.send({ type: 'ping' });
    // The pong comes while both invocations wait.
    await c.q.nextJson((m) => m.type === 'pong', 500, 'pong while invocations wait');
    // A second invoke with a pending id: BadRequest, no dispatch.
    c.send({ type: 'invoke', invocationId: 'slow-1', target: 'event', event: 'echo', dataType: 'text', data: 'dup' });
    const dup = await c.q.nextJson((m) => m.type === 'invokeResponse' && m.invocationId === 'slow-1', 1000, 'duplicate');
    assert.equal(dup.success, false);
    assert.equal(dup.error.name, 'BadRequest');
    c.send({ type: 'cancelInvocation', invocationId: 'slow-2' });
    c.send({ type: 'cancelInvocation', invocationId: 'never-existed' }); // ignored
    const answered = await c.q.nextJson((m) => m.type === 'invokeResponse' && m.invocationId === 'slow-1', 3000, 'slow-1');
    assert.deepEqual(answered, { type: 'invokeResponse', invocationId: 'slow-1', success: true, dataType: 'text', data: 'late' });
    await delay(500);
    assert.equal(c.q.items.filter((i) => i.json?.invocationId === 'slow-2').length, 0, 'no answer for the cancelled invocation');

    // Another target: BadRequest answer. No payload: an empty body upstream, success.
    c.send({ type: 'invoke', invocationId: 't', target: 'group', event: 'echo' });
    const target = await c.q.nextJson((m) => m.invocationId === 't');
    assert.equal(target.error.name, 'BadRequest');
    c.send({ type: 'invoke', invocationId: 'n', event: 'empty' });
    assert.deepEqual(await c.q.nextJson((m) => m.invocationId === 'n'), { type: 'invokeResponse', invocationId: 'n', success: true });
    assert.equal(c.q.closeInfo, null, 'still open');

    // Invalid invocation messages are invalid protocol messages (spec §6.9.2 rule 9): 1007.
    c.send({ type: 'invoke', invocationId: '', event: 'echo' });
    assert.equal((await c.q.closed).code, 1007);
  } finally {
    c.ws.terminate();
  }
});

// Event handlers, part 2 (issue 4, spec §8.6, §8.7, §8.9, §6.2): connected/disconnected, user
// events from simple and JSON-protocol clients with the handler's reply delivered back, handler
// failures, connection state, URL templates with {event}, and the --event-handler quick start.
// Each test starts its own @azure/web-pubsub-express handler and its own server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, jsonClient, simpleClient, closeAll, delay } from './harness.mjs';
import { startExpressHandler, hubConfig, isEvent } from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(hub, options = {}, { args = [], userEventPattern, urlTemplate, config } = {}) {
  const handler = await startExpressHandler(hub, options, { urlTemplate });
  cleanups.push(handler.close);
  const server = await startServer({
    config: config === null ? undefined : config ?? hubConfig(hub, handler.urlTemplate, { userEventPattern }),
    args: typeof args === 'function' ? args(handler) : args,
  });
  cleanups.push(() => stopAll(server));
  return { handler, server };
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

// ----------------------------------------------------------------------- connected / disconnected

test('connected then disconnected, with the connectionId and userId of the client and a reason', async () => {
  const hub = 'whlifecycle';
  const { handler, server } = await setup(hub);
  const c = await jsonClient(server, hub, { userId: 'life' });
  const id = c.connected.connectionId;
  const connected = await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected event');
  assert.equal(connected.req.context.connectionId, id);
  assert.equal(connected.req.context.userId, 'life');
  assert.equal(connected.req.context.eventName, 'connected');
  assert.equal(connected.req.context.hub, hub);
  const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connected'), 3000, 'connected POST');
  assert.deepEqual(JSON.parse(post.body.toString('utf8')), {});
  assert.equal(post.header('ce-source'), `/hubs/${hub}/client/${id}`);
  assert.equal(post.header('ce-subprotocol'), 'json.webpubsub.azure.v1');
  assert.equal(
    handler.events.items.filter((e) => e.kind === 'disconnected').length,
    0,
    'no disconnected while the client is connected',
  );

  c.ws.close(1000, 'bye');
  const disconnected = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected event');
  assert.equal(disconnected.req.context.connectionId, id);
  assert.equal(disconnected.req.context.userId, 'life');
  assert.equal(disconnected.req.context.eventName, 'disconnected');
  assert.equal(typeof disconnected.req.reason, 'string', `disconnected carries a reason: ${JSON.stringify(disconnected.req)}`);
  const order = handler.events.items.map((e) => e.kind);
  assert.ok(order.indexOf('connected') < order.indexOf('disconnected'), `order: ${order}`);
  await delay(300);
  assert.equal(handler.events.items.filter((e) => e.kind === 'disconnected').length, 1, 'disconnected exactly once');
});

test('simple client: connected and disconnected (server-side close by REST) with its ids', async () => {
  const hub = 'whlifesimple';
  const { handler, server } = await setup(hub);
  const s = await simpleClient(server, hub, { userId: 'simple-life' });
  try {
    const connected = await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected event');
    assert.equal(connected.req.context.userId, 'simple-life');
    const id = connected.req.context.connectionId;
    assert.ok(id);
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connected'), 3000, 'connected POST');
    assert.equal(post.header('ce-subprotocol'), undefined, 'no ce-subprotocol for a client without one');
    const { serviceClient } = await import('./rest-helpers.mjs');
    await serviceClient(server, hub).closeConnection(id, { reason: 'kicked-by-test' });
    await s.q.waitClose(5000);
    const disconnected = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected event');
    assert.equal(disconnected.req.context.connectionId, id);
    assert.equal(disconnected.req.context.userId, 'simple-life');
    assert.equal(typeof disconnected.req.reason, 'string');
  } finally {
    closeAll(s);
  }
});

test('many connections: every one gets connected before its disconnected, each exactly once', async () => {
  const hub = 'whlifemany';
  const { handler, server } = await setup(hub);
  const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => jsonClient(server, hub, { userId: `m${i}` })));
  const ids = clients.map((c) => c.connected.connectionId);
  for (const c of clients) c.ws.close();
  for (const id of ids) {
    await handler.events.wait((e) => e.kind === 'disconnected' && e.req.context.connectionId === id, 5000, `disconnected ${id}`);
  }
  await delay(200);
  for (const id of ids) {
    const mine = handler.events.items.filter((e) => e.req.context.connectionId === id).map((e) => e.kind);
    assert.deepEqual(mine, ['connected', 'disconnected'], `events of ${id}`);
  }
});

// ----------------------------------------------------------------------- simple clients (§6.2)

test('simple client: text frame -> text/plain message event; the text reply comes back as a text frame', async () => {
  const hub = 'whsimpletext';
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => {
      if (req.data === 'json please') return res.success(JSON.stringify({ echoed: true }), 'json');
      if (req.data === 'nothing') return res.success();
      return res.success(`echo: ${req.data}`, 'text');
    },
  });
  const s = await simpleClient(server, hub, { userId: 'st' });
  try {
    s.send('héllo wörld');
    const frame = await s.q.next(() => true, 5000, 'reply frame');
    assert.equal(frame.isBinary, false);
    assert.equal(frame.text, 'echo: héllo wörld');
    const ev = await handler.events.wait((e) => e.kind === 'user', 3000, 'user event');
    assert.equal(ev.req.dataType, 'text');
    assert.equal(ev.req.data, 'héllo wörld');
    assert.equal(ev.req.context.eventName, 'message');
    assert.equal(ev.req.context.userId, 'st');
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.user.message'), 3000, 'message POST');
    assert.match(post.header('content-type'), /^text\/plain/);
    assert.equal(post.header('ce-eventname'), 'message');

    s.send('json please');
    const jsonFrame = await s.q.next(() => true, 5000, 'json reply frame');
    assert.equal(jsonFrame.isBinary, false, 'application/json reply -> text frame');
    assert.deepEqual(jsonFrame.json, { echoed: true });

    s.send('nothing');
    await delay(100);
    s.send('after');
    const after = await s.q.next(() => true, 5000, 'reply after the empty one');
    assert.equal(after.text, 'echo: after', 'an empty reply sends no frame');
  } finally {
    closeAll(s);
  }
});

test('simple client: binary frame -> application/octet-stream message event; binary reply comes back as a binary frame', async () => {
  const hub = 'whsimplebin';
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => res.success(Buffer.concat([Buffer.from([0xff]), req.data]), 'binary'),
  });
  const s = await simpleClient(server, hub, { userId: 'sb' });
  try {
    const bytes = Buffer.from([0x00, 0x01, 0x80, 0xfe, 0x0a]);
    s.send(bytes);
    const frame = await s.q.next(() => true, 5000, 'reply frame');
    assert.equal(frame.isBinary, true);
    assert.equal(frame.raw.toString('hex'), 'ff000180fe0a');
    const ev = await handler.events.wait((e) => e.kind === 'user', 3000, 'user event');
    assert.equal(ev.req.dataType, 'binary');
    assert.equal(Buffer.from(ev.req.data).toString('hex'), bytes.toString('hex'));
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.user.message'), 3000, 'message POST');
    assert.equal(post.header('content-type').split(';')[0].trim(), 'application/octet-stream');
  } finally {
    closeAll(s);
  }
});

test('simple client: a handler failure closes the connection with 1011, and disconnected follows', async () => {
  const hub = 'whsimplefail';
  const { handler, server } = await setup(hub, { handleUserEvent: (req, res) => res.fail(500, 'nope') });
  const s = await simpleClient(server, hub, { userId: 'sf' });
  s.send('anything');
  const close = await s.q.waitClose(5000);
  assert.equal(close.code, 1011);
  const disc = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.equal(disc.req.context.userId, 'sf');
});

test('simple client: a 600 KB binary message and a 600 KB reply pass through the handler intact', async () => {
  const hub = 'whbig';
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => res.success(Buffer.from(req.data).reverse(), 'binary'),
  });
  const s = await simpleClient(server, hub, { userId: 'big' });
  try {
    const bytes = Buffer.alloc(600 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    s.send(bytes);
    const frame = await s.q.next(() => true, 8000, 'big reply');
    assert.equal(frame.isBinary, true);
    assert.equal(frame.raw.length, bytes.length);
    assert.ok(frame.raw.equals(Buffer.from(bytes).reverse()), 'reply bytes intact');
    const ev = await handler.events.wait((e) => e.kind === 'user', 1000, 'user event');
    assert.ok(Buffer.from(ev.req.data).equals(bytes), 'request bytes intact');
  } finally {
    closeAll(s);
  }
});

test('user event replies sent with chunked transfer encoding, and with no Content-Type (binary), are delivered whole', async () => {
  const hub = 'whchunked';
  const { startRawHandler, answerValidation } = await import('./webhook-helpers.mjs');
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.user.message')) {
      const text = rec.body.toString('utf8');
      if (text === 'raw') {
        // no Content-Type: binary (spec §6.2, §8.7)
        res.writeHead(200, { 'Content-Length': 3 });
        return res.end(Buffer.from([1, 2, 3]));
      }
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }); // no Content-Length: chunked
      res.write('part one, ');
      setTimeout(() => {
        res.write('part two, ');
        setTimeout(() => res.end(`end of ${text}`), 50);
      }, 50);
      return undefined;
    }
    res.writeHead(isEvent(rec, 'azure.webpubsub.sys.connect') ? 204 : 200);
    return res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const s = await simpleClient(server, hub, { userId: 'ch' });
  try {
    s.send('chunks');
    const frame = await s.q.next(() => true, 5000, 'chunked reply');
    assert.equal(frame.isBinary, false);
    assert.equal(frame.text, 'part one, part two, end of chunks');
    s.send('raw');
    const bin = await s.q.next(() => true, 5000, 'untyped reply');
    assert.equal(bin.isBinary, true);
    assert.equal(bin.raw.toString('hex'), '010203');
  } finally {
    closeAll(s);
  }
});

// ----------------------------------------------------------------------- JSON clients (§8.7, §6.5)

test('JSON client event: text/json/binary reach the handler typed; the reply arrives before the ack', async () => {
  const hub = 'whjsonevents';
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => {
      switch (req.dataType) {
        case 'text':
          return res.success(`re:${req.data}`, 'text');
        case 'json':
          return res.success(JSON.stringify({ got: req.data }), 'json');
        case 'binary':
          return res.success(Buffer.concat([req.data, Buffer.from([0x99])]), 'binary');
        default:
          return res.fail(400);
      }
    },
  });
  const c = await jsonClient(server, hub, { userId: 'jc' });
  try {
    const cases = [
      {
        send: { dataType: 'text', data: 'hi there' },
        contentType: 'text/plain',
        seen: (r) => r.dataType === 'text' && r.data === 'hi there',
        reply: { type: 'message', from: 'server', dataType: 'text', data: 're:hi there' },
      },
      {
        send: { dataType: 'json', data: { x: [1, 2], s: 'y' } },
        contentType: 'application/json',
        seen: (r) => r.dataType === 'json' && JSON.stringify(r.data) === JSON.stringify({ x: [1, 2], s: 'y' }),
        reply: { type: 'message', from: 'server', dataType: 'json', data: { got: { x: [1, 2], s: 'y' } } },
      },
      {
        send: { dataType: 'binary', data: b64([1, 2, 3, 255]) },
        contentType: 'application/octet-stream',
        seen: (r) => r.dataType === 'binary' && Buffer.from(r.data).toString('hex') === '010203ff',
        reply: { type: 'message', from: 'server', dataType: 'binary', data: b64([1, 2, 3, 255, 0x99]) },
      },
    ];
    let ackId = 10;
    for (const k of cases) {
      ackId += 1;
      const event = `ev.${k.send.dataType}`;
      c.send({ type: 'event', event, ackId, ...k.send });
      const ack = await c.q.ack(ackId);
      assert.deepEqual(ack, { type: 'ack', ackId, success: true }, `${event} ack`);
      // the reply must already be in the queue: it was sent before the ack
      const idx = c.q.items.findIndex((i) => i.json?.type === 'message');
      assert.ok(idx >= 0, `${event}: the handler reply must arrive before the ack; queue: ${c.q.describe()}`);
      const [reply] = c.q.items.splice(idx, 1);
      assert.deepEqual(reply.json, k.reply, `${event} reply`);

      const ev = await handler.events.wait((e) => e.kind === 'user' && e.req.context.eventName === event, 3000, event);
      assert.ok(k.seen(ev.req), `${event} as the handler saw it: ${JSON.stringify(ev.req)}`);
      assert.equal(ev.req.context.userId, 'jc');
      assert.equal(ev.req.context.connectionId, c.connected.connectionId);
      const post = await handler.requests.wait((r) => isEvent(r, `azure.webpubsub.user.${event}`), 3000, `${event} POST`);
      assert.equal(post.header('content-type').split(';')[0].trim(), k.contentType, `${event} content type`);
      assert.equal(post.header('ce-eventname'), event);
    }
  } finally {
    closeAll(c);
  }
});

test('JSON client event: an empty reply sends nothing but the ack; no ackId still delivers the reply', async () => {
  const hub = 'whjsonempty';
  const { server } = await setup(hub, {
    handleUserEvent: (req, res) => (req.data === 'silent' ? res.success() : res.success(`re:${req.data}`, 'text')),
  });
  const c = await jsonClient(server, hub, { userId: 'je' });
  try {
    c.send({ type: 'event', event: 'e', dataType: 'text', data: 'silent', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    await c.q.expectNothing(200, (i) => i.json?.type === 'message');
    c.send({ type: 'event', event: 'e', dataType: 'text', data: 'no-ack' });
    const msg = await c.q.nextJson((m) => m.type === 'message', 5000, 'reply without ackId');
    assert.equal(msg.data, 're:no-ack');
  } finally {
    closeAll(c);
  }
});

test('JSON client event: handler failure -> InternalServerError ack, the connection stays usable', async () => {
  const hub = 'whjsonfail';
  const { server } = await setup(hub, {
    handleUserEvent: (req, res) => (req.context.eventName === 'bad' ? res.fail(500, 'broken') : res.success('ok', 'text')),
  });
  const c = await jsonClient(server, hub, { userId: 'jf' });
  try {
    c.send({ type: 'event', event: 'bad', dataType: 'text', data: 'x', ackId: 1 });
    const ack = await c.q.ack(1);
    assert.equal(ack.success, false);
    assert.equal(ack.error?.name, 'InternalServerError', JSON.stringify(ack));
    await c.q.expectNothing(100, (i) => i.json?.type === 'message');
    c.send({ type: 'event', event: 'good', dataType: 'text', data: 'x', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, true);
    assert.equal((await c.q.nextJson((m) => m.type === 'message', 3000, 'good reply')).data, 'ok');
    assert.equal(c.q.closeInfo, null);
  } finally {
    closeAll(c);
  }
});

test('user events without a matching handler: InternalServerError ack for JSON clients, 1011 for simple clients', async () => {
  const hub = 'whnomatch';
  const { handler, server } = await setup(
    hub,
    { handleUserEvent: (req, res) => res.success(`handled ${req.context.eventName}`, 'text') },
    { userEventPattern: 'known, Other' },
  );
  const c = await jsonClient(server, hub, { userId: 'nm' });
  const s = await simpleClient(server, hub, { userId: 'nms' });
  try {
    c.send({ type: 'event', event: 'known', dataType: 'text', data: 'x', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    c.send({ type: 'event', event: 'other', dataType: 'text', data: 'x', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, true, 'patterns are case-insensitive and trimmed');
    c.send({ type: 'event', event: 'unknown', dataType: 'text', data: 'x', ackId: 3 });
    const ack = await c.q.ack(3);
    assert.equal(ack.error?.name, 'InternalServerError', JSON.stringify(ack));
    assert.equal(
      handler.requests.items.filter((r) => isEvent(r, 'azure.webpubsub.user.unknown')).length,
      0,
      'an unmatched event is not sent',
    );
    // the simple client's frames are the `message` event, which the pattern does not list
    s.send('hello');
    assert.equal((await s.q.waitClose(5000)).code, 1011);
  } finally {
    closeAll(c, s);
  }
});

test('user events of one connection are dispatched in order (a slow first event does not let later ones overtake)', async () => {
  const hub = 'whorder';
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => {
      const wait = req.data === '1' ? 300 : 0;
      setTimeout(() => res.success(`r${req.data}`, 'text'), wait);
    },
  });
  const c = await jsonClient(server, hub, { userId: 'ord' });
  try {
    for (let i = 1; i <= 5; i++) c.send({ type: 'event', event: 'seq', dataType: 'text', data: String(i), ackId: i });
    await c.q.ack(5, 5000);
    const frames = c.q.items.concat([]).map((i) => i.json);
    // everything before ack 5 is in the queue (ack 5 was consumed); collect the order
    const replies = frames.filter((m) => m?.type === 'message').map((m) => m.data);
    const acks = frames.filter((m) => m?.type === 'ack').map((m) => m.ackId);
    assert.deepEqual(replies, ['r1', 'r2', 'r3', 'r4', 'r5']);
    assert.deepEqual(acks, [1, 2, 3, 4]);
    const seen = handler.events.items.filter((e) => e.kind === 'user').map((e) => e.req.data);
    assert.deepEqual(seen, ['1', '2', '3', '4', '5']);
  } finally {
    closeAll(c);
  }
});

test('JSON client event: a repeated successful ackId gets Duplicate without calling the handler again; a failed one may be retried', async () => {
  const hub = 'whdup';
  let failNext = true;
  const { handler, server } = await setup(hub, {
    handleUserEvent: (req, res) => {
      if (req.context.eventName === 'flaky' && failNext) {
        failNext = false;
        return res.fail(500);
      }
      return res.success(`done:${req.data}`, 'text');
    },
  });
  const c = await jsonClient(server, hub, { userId: 'dup' });
  try {
    c.send({ type: 'event', event: 'once', dataType: 'text', data: 'a', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    await c.q.nextJson((m) => m.type === 'message', 3000, 'first reply');
    c.send({ type: 'event', event: 'once', dataType: 'text', data: 'a', ackId: 1 });
    const dup = await c.q.ack(1);
    assert.equal(dup.success, false);
    assert.equal(dup.error?.name, 'Duplicate', JSON.stringify(dup));
    await c.q.expectNothing(200, (i) => i.json?.type === 'message');
    assert.equal(handler.events.items.filter((e) => e.kind === 'user' && e.req.context.eventName === 'once').length, 1);

    c.send({ type: 'event', event: 'flaky', dataType: 'text', data: 'b', ackId: 2 });
    assert.equal((await c.q.ack(2)).error?.name, 'InternalServerError');
    c.send({ type: 'event', event: 'flaky', dataType: 'text', data: 'b', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, true, 'a failed ackId is not remembered');
    assert.equal((await c.q.nextJson((m) => m.type === 'message', 3000, 'retry reply')).data, 'done:b');
  } finally {
    closeAll(c);
  }
});

test('@azure/web-pubsub-client (reliable JSON): sendEvent reaches the handler, its reply is a server-message', async () => {
  const hub = 'whsdkclient';
  const { handler, server } = await setup(hub, {
    handleConnect: (req, res) => res.success({ userId: `app-${req.claims.sub[0]}` }),
    handleUserEvent: (req, res) => res.success(JSON.stringify({ echo: req.data, type: req.dataType }), 'json'),
  });
  const { WebPubSubClient } = await import('@azure/web-pubsub-client');
  const { serviceClient } = await import('./rest-helpers.mjs');
  const { url } = await serviceClient(server, hub).getClientAccessToken({ userId: 'sdk' });
  const client = new WebPubSubClient(url, {
    autoReconnect: false,
    messageRetryOptions: { maxRetries: 0 },
    keepAliveIntervalInMs: 300,
    keepAliveTimeoutInMs: 1500,
  });
  const serverMessages = [];
  let wake;
  client.on('server-message', (e) => {
    serverMessages.push(e.message);
    wake?.();
  });
  const connected = new Promise((resolve) => client.on('connected', resolve));
  try {
    await client.start();
    const info = await connected;
    assert.equal(info.userId, 'app-sdk');
    const result = await client.sendEvent('greet', { hello: 'sdk' }, 'json');
    assert.equal(result.isDuplicated, false);
    if (serverMessages.length === 0) {
      await new Promise((resolve, reject) => {
        wake = resolve;
        setTimeout(() => reject(new Error('no server-message within 3 s')), 3000);
      });
    }
    assert.equal(serverMessages[0].dataType, 'json');
    assert.deepEqual(serverMessages[0].data, { echo: { hello: 'sdk' }, type: 'json' });
    const ev = await handler.events.wait((e) => e.kind === 'user', 1000, 'user event');
    assert.equal(ev.req.context.userId, 'app-sdk');
    assert.equal(ev.req.context.connectionId, info.connectionId);
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.user.greet'), 1000, 'greet POST');
    assert.equal(post.header('ce-subprotocol'), 'json.reliable.webpubsub.azure.v1');
  } finally {
    client.stop();
  }
});

// ----------------------------------------------------------------------- connection state (§8.9)

test('state: setState in connect and in a user event is visible in the following events', async () => {
  const hub = 'whstate';
  const { handler, server } = await setup(hub, {
    handleConnect: (req, res) => {
      res.setState('k', 'v');
      res.success();
    },
    handleUserEvent: (req, res) => {
      if (req.context.eventName === 'set') {
        res.setState('n', 1);
        return res.success();
      }
      return res.success(JSON.stringify(req.context.states), 'json');
    },
  });
  const c = await jsonClient(server, hub, { userId: 'st' });
  try {
    const connected = await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected');
    assert.deepEqual(connected.req.context.states, { k: 'v' }, 'state from connect is sent with connected');
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connected'), 3000, 'connected POST');
    assert.deepEqual(JSON.parse(Buffer.from(post.header('ce-connectionstate'), 'base64').toString()), { k: 'v' });

    c.send({ type: 'event', event: 'get', dataType: 'text', data: '', ackId: 1 });
    await c.q.ack(1);
    assert.deepEqual((await c.q.nextJson((m) => m.type === 'message', 3000, 'state 1')).data, { k: 'v' });

    c.send({ type: 'event', event: 'set', dataType: 'text', data: '', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, true);

    c.send({ type: 'event', event: 'get', dataType: 'text', data: '', ackId: 3 });
    await c.q.ack(3);
    assert.deepEqual((await c.q.nextJson((m) => m.type === 'message', 3000, 'state 2')).data, { k: 'v', n: 1 });

    // a response without ce-connectionState keeps the state
    c.send({ type: 'event', event: 'get', dataType: 'text', data: '', ackId: 4 });
    await c.q.ack(4);
    assert.deepEqual((await c.q.nextJson((m) => m.type === 'message', 3000, 'state 3')).data, { k: 'v', n: 1 });

    c.ws.close();
    const disc = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
    assert.deepEqual(disc.req.context.states, { k: 'v', n: 1 }, 'state is sent with disconnected');
  } finally {
    closeAll(c);
  }
});

test('state: a simple client keeps the state set by its message events', async () => {
  const hub = 'whstatesimple';
  const { server } = await setup(hub, {
    handleUserEvent: (req, res) => {
      const count = (req.context.states.count ?? 0) + 1;
      res.setState('count', count);
      res.success(`count=${count}`, 'text');
    },
  });
  const s = await simpleClient(server, hub, { userId: 'ss' });
  try {
    for (let i = 1; i <= 3; i++) {
      s.send('tick');
      assert.equal((await s.q.next(() => true, 5000, `reply ${i}`)).text, `count=${i}`);
    }
  } finally {
    closeAll(s);
  }
});

// ----------------------------------------------------------------------- URL templates, quick start

test('urlTemplate with {event}: validation goes to .../validate, events to .../<event>', async () => {
  const hub = 'wheventurl';
  const { handler, server } = await setup(
    hub,
    { handleConnect: (req, res) => res.success(), handleUserEvent: (req, res) => res.success('ok', 'text') },
    { urlTemplate: '<base>/api/webpubsub/hubs/{hub}/{event}?code=secret' },
  );
  const c = await jsonClient(server, hub, { userId: 'u' });
  try {
    c.send({ type: 'event', event: 'custom.evt', dataType: 'text', data: 'x', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    await handler.events.wait((e) => e.kind === 'connected', 3000, 'connected');
    const urls = (pred) => handler.requests.items.filter(pred).map((r) => r.url);
    assert.deepEqual(urls((r) => r.method === 'OPTIONS'), [`/api/webpubsub/hubs/${hub}/validate?code=secret`]);
    assert.deepEqual(urls((r) => isEvent(r, 'azure.webpubsub.sys.connect')), [`/api/webpubsub/hubs/${hub}/connect?code=secret`]);
    assert.deepEqual(urls((r) => isEvent(r, 'azure.webpubsub.sys.connected')), [`/api/webpubsub/hubs/${hub}/connected?code=secret`]);
    assert.deepEqual(urls((r) => isEvent(r, 'azure.webpubsub.user.custom.evt')), [
      `/api/webpubsub/hubs/${hub}/custom.evt?code=secret`,
    ]);
  } finally {
    closeAll(c);
  }
});

test('--event-handler quick start: every hub, every system event and user event go to the handler', async () => {
  const hub = 'whquick';
  const { handler, server } = await setup(
    hub,
    { handleConnect: (req, res) => res.success({ userId: 'quick-user' }), handleUserEvent: (req, res) => res.success(`q:${req.data}`, 'text') },
    { config: null, args: (h) => ['--event-handler', h.urlTemplate] },
  );
  const s = await simpleClient(server, hub, { userId: 'token-user' });
  try {
    s.send('ping');
    assert.equal((await s.q.next(() => true, 5000, 'reply')).text, 'q:ping');
    const connected = await handler.events.wait((e) => e.kind === 'connected', 3000, 'connected');
    assert.equal(connected.req.context.userId, 'quick-user');
    s.ws.close();
    await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  } finally {
    closeAll(s);
  }
});

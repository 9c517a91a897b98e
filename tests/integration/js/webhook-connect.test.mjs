// Event handlers, part 1 (issue 4, spec §8.2-§8.5): abuse-protection validation, the blocking
// `connect` event with a real @azure/web-pubsub-express app (accept, reject, overrides of
// userId/groups/roles/subprotocol, the request the handler sees) and ce-signature.
// Each test starts its own handler (127.0.0.1, port 0) and its own server pointed at it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  stopAll,
  jsonClient,
  simpleClient,
  clientToken,
  clientUrl,
  openSocket,
  expectRefused,
  closeAll,
  delay,
  JSON_PROTOCOL,
} from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import {
  startExpressHandler,
  startRawHandler,
  answerValidation,
  hubConfig,
  signatureFor,
  isEvent,
  dictGet,
} from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Handler + server for `hub`; extra server args. */
async function setup(hub, options = {}, { args = [], events, userEventPattern } = {}) {
  const handler = await startExpressHandler(hub, options);
  cleanups.push(handler.close);
  const server = await startServer({
    config: hubConfig(hub, handler.urlTemplate, { systemEvents: events, userEventPattern }),
    args,
  });
  cleanups.push(() => stopAll(server));
  return { handler, server };
}

// ----------------------------------------------------------------------- validation (§8.2)

test('validation: the handler gets an OPTIONS with WebHook-Request-Origin and ce-awpsversion before its first event', async () => {
  const hub = 'whvalidate';
  const { handler, server } = await setup(hub);
  const c = await jsonClient(server, hub, { userId: 'v1' });
  try {
    const connectPost = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connect'), 5000, 'connect POST');
    const first = handler.requests.items[0];
    assert.equal(first.method, 'OPTIONS', `first request must be the validation: ${handler.requests.describe()}`);
    assert.ok(first.header('webhook-request-origin'), 'OPTIONS carries WebHook-Request-Origin');
    assert.ok(first.header('ce-awpsversion') !== undefined, 'OPTIONS carries ce-awpsversion (express ignores it otherwise)');
    assert.equal(new URL(first.url, 'http://x').pathname, `/api/webpubsub/hubs/${hub}/`);
    assert.equal(first.header('ce-signature'), undefined, 'no signature on the validation request');
    assert.ok(first.at <= connectPost.at);
    // the POSTs carry the same origin and the ce-awpsversion the middleware requires
    assert.equal(connectPost.header('webhook-request-origin'), first.header('webhook-request-origin'));
    assert.equal(connectPost.header('ce-awpsversion'), '1.0');
    // the validation is not repeated for every event
    const c2 = await jsonClient(server, hub, { userId: 'v2' });
    closeAll(c2);
    await handler.requests.wait(
      (r) => isEvent(r, 'azure.webpubsub.sys.connect') && r !== connectPost,
      5000,
      'second connect POST',
    );
    assert.equal(handler.requests.items.filter((r) => r.method === 'OPTIONS').length, 1, handler.requests.describe());
  } finally {
    closeAll(c);
  }
});

test('validation: a handler that answers OPTIONS without WebHook-Allowed-Origin is never POSTed to; clients get 500', async () => {
  const hub = 'whbadvalidation';
  const raw = await startRawHandler((rec, res) => {
    // OPTIONS: 200 but no WebHook-Allowed-Origin, which fails abuse protection;
    // any POST would be accepted (200, empty body), so a refused client proves the server held back
    res.writeHead(200);
    res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'nope' });
  assert.equal(await expectRefused(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL] }), 500);
  assert.equal(await expectRefused(clientUrl(server.port, hub, token)), 500, 'simple client refused too');
  await raw.requests.wait((r) => r.method === 'OPTIONS' || r.method === 'GET', 3000, 'validation request');
  await delay(300);
  assert.deepEqual(
    raw.requests.items.filter((r) => r.method === 'POST').map((r) => r.describe()),
    [],
    'a handler that failed validation must not be called',
  );
  assert.match(server.output(), /validat/i, `the log says the handler failed validation:\n${server.output()}`);
});

// ----------------------------------------------------------------------- connect accept / reject

test('connect: express without handleConnect (200, empty body) accepts with the token identity', async () => {
  const hub = 'whaccept';
  const { handler, server } = await setup(hub);
  const c = await jsonClient(server, hub, { userId: 'token-user' });
  try {
    assert.equal(c.connected.userId, 'token-user');
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connect'), 5000, 'connect POST');
    assert.equal(post.header('ce-connectionid'), c.connected.connectionId);
  } finally {
    closeAll(c);
  }
});

test('connect: res.success() (204) accepts; a simple client connects too', async () => {
  const hub = 'whaccept204';
  const { handler, server } = await setup(hub, { handleConnect: (req, res) => res.success() });
  const c = await jsonClient(server, hub, { userId: 'u204' });
  const s = await simpleClient(server, hub, { userId: 'simple204' });
  try {
    assert.equal(c.connected.userId, 'u204');
    assert.equal(s.protocol, '');
    await handler.events.wait((e) => e.kind === 'connect' && e.req.context.userId === 'simple204', 3000, 'simple connect');
  } finally {
    closeAll(c, s);
  }
});

test('connect: res.fail(401) / fail(403) / fail(400) are the status of the refused upgrade; no connected event follows', async () => {
  const hub = 'whreject';
  const { handler, server } = await setup(hub, {
    handleConnect: (req, res) => {
      const sub = req.claims?.sub?.[0];
      if (sub === 'bad401') return res.fail(401, 'who are you');
      if (sub === 'bad403') return res.fail(403, 'go away');
      if (sub === 'bad400') return res.fail(400, 'malformed');
      return res.success();
    },
  });
  for (const [user, status] of [
    ['bad401', 401],
    ['bad403', 403],
    ['bad400', 400],
  ]) {
    const token = clientToken({ port: server.port, hub, key: server.key, userId: user });
    assert.equal(await expectRefused(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL] }), status, user);
    assert.equal(await expectRefused(clientUrl(server.port, hub, token)), status, `${user} (simple client)`);
  }
  // a good client still gets in, and its events are the only lifecycle events
  const good = await jsonClient(server, hub, { userId: 'good' });
  closeAll(good);
  await handler.events.wait((e) => e.kind === 'disconnected' && e.req.context.userId === 'good', 5000, 'good disconnected');
  await delay(300);
  const lifecycle = handler.events.items.filter((e) => e.kind === 'connected' || e.kind === 'disconnected');
  assert.deepEqual(
    lifecycle.map((e) => `${e.kind}:${e.req.context.userId}`),
    ['connected:good', 'disconnected:good'],
    'rejected connections never produce connected/disconnected',
  );
});

test('connect: a 5xx from the handler refuses the client with 500', async () => {
  const hub = 'whreject500';
  const { server } = await setup(hub, { handleConnect: (req, res) => res.fail(500, 'boom') });
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'x' });
  assert.equal(await expectRefused(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL] }), 500);
});

test('connect: an unreachable handler refuses the client with 500', async () => {
  const hub = 'whunreachable';
  // a port that was just free: nothing listens there
  const raw = await startRawHandler(() => {});
  const url = raw.urlTemplate;
  await raw.close();
  const server = await startServer({ config: hubConfig(hub, url) });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'x' });
  const t0 = Date.now();
  assert.equal(await expectRefused(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL], timeoutMs: 8000 }), 500);
  assert.ok(Date.now() - t0 < 8000);
});

test('connect: an invalid JSON body from the handler refuses the client with 500', async () => {
  const hub = 'whbadbody';
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connect')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{"userId": ');
    }
    res.writeHead(200);
    res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'x' });
  assert.equal(await expectRefused(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL] }), 500);
});

// ----------------------------------------------------------------------- overrides (§8.5)

test('connect override: userId replaces the token subject (connected message, later events, REST user sends)', async () => {
  const hub = 'whuserid';
  const { handler, server } = await setup(hub, {
    handleConnect: (req, res) => res.success({ userId: `app-${req.claims.sub[0]}` }),
  });
  const c = await jsonClient(server, hub, { userId: 'alice' });
  try {
    assert.equal(c.connected.userId, 'app-alice');
    const connected = await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected event');
    assert.equal(connected.req.context.userId, 'app-alice');
    await serviceClient(server, hub).sendToUser('app-alice', 'to the new user id', { contentType: 'text/plain' });
    const msg = await c.q.nextJson((m) => m.type === 'message', 5000, 'server message');
    assert.deepEqual(msg, { type: 'message', from: 'server', dataType: 'text', data: 'to the new user id' });
  } finally {
    closeAll(c);
  }
});

test('connect override: groups are joined, then receive messages from clients and from REST', async () => {
  const hub = 'whgroups';
  const { server } = await setup(hub, {
    handleConnect: (req, res) => {
      if (req.claims.sub[0] === 'member') return res.success({ groups: ['room-a', 'room-b'] });
      return res.success();
    },
  });
  const member = await jsonClient(server, hub, { userId: 'member' });
  const simple = await simpleClient(server, hub, { userId: 'member' });
  const pub = await jsonClient(server, hub, { userId: 'pub', roles: ['webpubsub.sendToGroup'] });
  try {
    pub.send({ type: 'sendToGroup', group: 'room-a', dataType: 'text', data: 'hello room a', ackId: 1 });
    assert.equal((await pub.q.ack(1)).success, true);
    assert.deepEqual(await member.q.groupMessage('room-a'), {
      type: 'message',
      from: 'group',
      group: 'room-a',
      fromUserId: 'pub',
      dataType: 'text',
      data: 'hello room a',
    });
    const frame = await simple.q.next((i) => !i.isBinary && i.text === 'hello room a', 5000, 'group frame at the simple member');
    assert.ok(frame);
    await serviceClient(server, hub).group('room-b').sendToAll('from rest', { contentType: 'text/plain' });
    const rest = await member.q.groupMessage('room-b');
    assert.equal(rest.data, 'from rest');
    await simple.q.next((i) => i.text === 'from rest', 5000, 'REST group frame at the simple member');
    // the publisher was not put in the groups
    await pub.q.expectNothing(300, (i) => i.json?.type === 'message');
  } finally {
    closeAll(member, simple, pub);
  }
});

test('connect override: roles granted by the handler allow sendToGroup; an empty roles array removes token roles', async () => {
  const hub = 'whroles';
  const { server } = await setup(hub, {
    handleConnect: (req, res) => {
      const sub = req.claims.sub[0];
      if (sub === 'granted') return res.success({ roles: ['webpubsub.sendToGroup', 'webpubsub.joinLeaveGroup.lobby'] });
      if (sub === 'stripped') return res.success({ roles: [] });
      return res.success();
    },
  });
  const listener = await jsonClient(server, hub, { userId: 'listener', roles: ['webpubsub.joinLeaveGroup'] });
  const granted = await jsonClient(server, hub, { userId: 'granted' });
  const plain = await jsonClient(server, hub, { userId: 'plain' });
  const stripped = await jsonClient(server, hub, { userId: 'stripped', roles: ['webpubsub.sendToGroup'] });
  try {
    listener.send({ type: 'joinGroup', group: 'lobby', ackId: 1 });
    assert.equal((await listener.q.ack(1)).success, true);

    granted.send({ type: 'sendToGroup', group: 'lobby', dataType: 'text', data: 'granted says hi', ackId: 2 });
    assert.equal((await granted.q.ack(2)).success, true, 'roles from the handler allow sending');
    assert.equal((await listener.q.groupMessage('lobby')).data, 'granted says hi');
    granted.send({ type: 'joinGroup', group: 'lobby', ackId: 3 });
    assert.equal((await granted.q.ack(3)).success, true, 'scoped joinLeaveGroup.lobby role works');
    granted.send({ type: 'joinGroup', group: 'other', ackId: 4 });
    assert.equal((await granted.q.ack(4)).error?.name, 'Forbidden');

    plain.send({ type: 'sendToGroup', group: 'lobby', dataType: 'text', data: 'x', ackId: 5 });
    assert.equal((await plain.q.ack(5)).error?.name, 'Forbidden', 'control: no role, no send');

    stripped.send({ type: 'sendToGroup', group: 'lobby', dataType: 'text', data: 'x', ackId: 6 });
    assert.equal((await stripped.q.ack(6)).error?.name, 'Forbidden', 'roles: [] replaces the token roles');
  } finally {
    closeAll(listener, granted, plain, stripped);
  }
});

test('connect override: subprotocol picks one of the offered (json over a custom one; custom makes a simple client)', async () => {
  const hub = 'whsubproto';
  const seen = [];
  const { handler, server } = await setup(hub, {
    handleConnect: (req, res) => {
      seen.push(req.subprotocols);
      if (req.claims.sub[0] === 'wants-json') return res.success({ subprotocol: JSON_PROTOCOL });
      return res.success({ subprotocol: 'my.custom.v1' });
    },
    handleUserEvent: (req, res) => res.success(`echo:${req.data}`, 'text'),
  });
  const offered = ['my.custom.v1', JSON_PROTOCOL];
  const tokenJson = clientToken({ port: server.port, hub, key: server.key, userId: 'wants-json' });
  const a = await openSocket(clientUrl(server.port, hub, tokenJson), { protocols: offered });
  const tokenCustom = clientToken({ port: server.port, hub, key: server.key, userId: 'wants-custom' });
  const b = await openSocket(clientUrl(server.port, hub, tokenCustom), { protocols: offered });
  try {
    assert.deepEqual(seen[0], offered, 'the connect request lists the offered subprotocols in order');
    assert.equal(a.protocol, JSON_PROTOCOL);
    const connected = await a.q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'connected');
    assert.equal(connected.userId, 'wants-json');

    assert.equal(b.protocol, 'my.custom.v1');
    // a custom subprotocol is a simple client: no system messages, frames go to the handler as `message`
    b.ws.send('ping-as-text');
    const reply = await b.q.next(() => true, 5000, 'reply frame');
    assert.equal(reply.isBinary, false);
    assert.equal(reply.text, 'echo:ping-as-text', 'a simple client gets no connected message, only the handler reply');
    const ev = await handler.events.wait((e) => e.kind === 'user' && e.req.context.userId === 'wants-custom', 3000, 'user event');
    assert.equal(ev.req.context.eventName, 'message');
    const post = await handler.requests.wait(
      (r) => isEvent(r, 'azure.webpubsub.user.message') && r.header('ce-userid') === 'wants-custom',
      3000,
      'user event POST',
    );
    assert.equal(post.header('ce-subprotocol'), 'my.custom.v1');
  } finally {
    closeAll(a, b);
  }
});

// ----------------------------------------------------------------------- what the handler sees

test('connect request: claims, query without access_token, headers, subprotocols, context and ce-* headers', async () => {
  const hub = 'whrequest';
  const { handler, server } = await setup(hub, { handleConnect: (req, res) => res.success() });
  const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'claimant', roles });
  const url = `${clientUrl(server.port, hub, token)}&foo=bar&foo=baz&empty=`;
  const { ws, q, protocol } = await openSocket(url, {
    protocols: [JSON_PROTOCOL],
    headers: { 'X-Test-Header': 'hello-header', Cookie: 'session=abc' },
  });
  try {
    assert.equal(protocol, JSON_PROTOCOL);
    const connected = await q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'connected');
    const { req } = await handler.events.wait((e) => e.kind === 'connect', 3000, 'connect event');

    // claims: every value an array of strings
    assert.deepEqual(req.claims.sub, ['claimant']);
    assert.deepEqual([...req.claims.role].sort(), [...roles].sort());
    for (const [k, v] of Object.entries(req.claims)) {
      assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), `claim ${k} is a string array: ${JSON.stringify(v)}`);
    }
    // query: without the access token
    assert.deepEqual(req.query.foo, ['bar', 'baz']);
    assert.deepEqual(req.queries.foo, ['bar', 'baz']);
    assert.equal(dictGet(req.query, 'access_token'), undefined, 'access_token must be stripped from query');
    assert.deepEqual(dictGet(req.query, 'empty'), ['']);
    // headers: the client's, as string arrays
    assert.deepEqual(dictGet(req.headers, 'x-test-header'), ['hello-header']);
    assert.deepEqual(dictGet(req.headers, 'cookie'), ['session=abc']);
    assert.equal(dictGet(req.headers, 'authorization'), undefined);
    for (const [k, v] of Object.entries(req.headers)) {
      assert.ok(Array.isArray(v) && v.every((s) => typeof s === 'string'), `header ${k} is a string array: ${JSON.stringify(v)}`);
    }
    assert.deepEqual(req.subprotocols, [JSON_PROTOCOL]);
    // context built by express from the ce-* headers
    assert.equal(req.context.hub, hub);
    assert.equal(req.context.connectionId, connected.connectionId);
    assert.equal(req.context.userId, 'claimant');
    assert.equal(req.context.eventName, 'connect');
    assert.equal(req.context.signature, signatureFor(connected.connectionId, server.key));
    assert.ok(req.context.origin);

    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connect'), 3000, 'connect POST');
    assert.equal(post.url, `/api/webpubsub/hubs/${hub}/`);
    assert.match(post.header('content-type'), /^application\/json/);
    assert.equal(post.header('ce-specversion'), '1.0');
    assert.equal(post.header('ce-awpsversion'), '1.0');
    assert.equal(post.header('ce-hub'), hub);
    assert.equal(post.header('ce-eventname'), 'connect');
    assert.equal(post.header('ce-source'), `/hubs/${hub}/client/${connected.connectionId}`);
    assert.ok(post.header('ce-id'), 'ce-id present');
    assert.ok(!Number.isNaN(Date.parse(post.header('ce-time'))), `ce-time is a timestamp: ${post.header('ce-time')}`);
    assert.equal(post.header('ce-userid'), 'claimant');
  } finally {
    ws.terminate();
  }
});

test('connect request: a token in the Authorization header is not forwarded; anonymous clients have no ce-userId', async () => {
  const hub = 'whauthheader';
  const handler = await startExpressHandler(hub, { handleConnect: (req, res) => res.success() });
  cleanups.push(handler.close);
  const config = hubConfig(hub, handler.urlTemplate);
  config.hubs[hub].allowAnonymous = true;
  const server = await startServer({ config });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'bearer-user' });
  const { ws, q } = await openSocket(clientUrl(server.port, hub), {
    protocols: [JSON_PROTOCOL],
    headers: { Authorization: `Bearer ${token}` },
  });
  const anon = await openSocket(clientUrl(server.port, hub), { protocols: [JSON_PROTOCOL] });
  try {
    const connected = await q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'connected');
    assert.equal(connected.userId, 'bearer-user');
    const ev = await handler.events.wait(
      (e) => e.kind === 'connect' && e.req.context.connectionId === connected.connectionId,
      3000,
      'connect of the header client',
    );
    assert.deepEqual(ev.req.claims.sub, ['bearer-user']);
    assert.equal(dictGet(ev.req.headers, 'authorization'), undefined, 'the Authorization header must be stripped');

    const anonConnected = await anon.q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'anon connected');
    const post = await handler.requests.wait(
      (r) => isEvent(r, 'azure.webpubsub.sys.connect') && r.header('ce-connectionid') === anonConnected.connectionId,
      3000,
      'anonymous connect POST',
    );
    assert.equal(post.header('ce-userid'), undefined, 'ce-userId omitted when there is none');
  } finally {
    ws.terminate();
    anon.ws.terminate();
  }
});

// ----------------------------------------------------------------------- signature (§8.4)

test('ce-signature: HMAC-SHA256 of the connectionId with the primary key, then the secondary key', async () => {
  const hub = 'whsignature';
  const PRIMARY = 'primary-key-for-webhook-signature-test-000000';
  const SECONDARY = 'secondary-key-for-webhook-signature-test-0000';
  const { handler, server } = await setup(
    hub,
    { handleConnect: (req, res) => res.success(), handleUserEvent: (req, res) => res.success() },
    { args: ['--access-key', PRIMARY, '--secondary-access-key', SECONDARY] },
  );
  assert.equal(server.key, PRIMARY);
  const c = await jsonClient(server, hub, { userId: 'signed', key: PRIMARY });
  try {
    const id = c.connected.connectionId;
    const expected = signatureFor(id, PRIMARY, SECONDARY);
    assert.equal(expected.split(',').length, 2);
    c.send({ type: 'event', event: 'signed', dataType: 'text', data: 'x', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    await handler.events.wait((e) => e.kind === 'connected', 3000, 'connected');
    for (const type of ['azure.webpubsub.sys.connect', 'azure.webpubsub.sys.connected', 'azure.webpubsub.user.signed']) {
      const post = await handler.requests.wait((r) => isEvent(r, type), 3000, type);
      assert.equal(post.header('ce-signature'), expected, `${type} signature`);
    }
  } finally {
    closeAll(c);
  }
});

test('ce-signature: one entry with the default key', async () => {
  const hub = 'whsigdefault';
  const { handler, server } = await setup(hub, { handleConnect: (req, res) => res.success() });
  const c = await jsonClient(server, hub, { userId: 'signed' });
  try {
    const ev = await handler.events.wait((e) => e.kind === 'connect', 3000, 'connect');
    assert.equal(ev.req.context.signature, signatureFor(c.connected.connectionId, server.key));
    assert.match(ev.req.context.signature, /^sha256=[0-9a-f]{64}$/);
  } finally {
    closeAll(c);
  }
});

// ----------------------------------------------------------------------- allowedEndpoints (§8.11)

test('express allowedEndpoints = the connection string endpoint passes validation; another endpoint fails it', async () => {
  const hub = 'whallowed';
  const good = await startExpressHandler(hub);
  const bad = await startExpressHandler('whdenied');
  cleanups.push(good.close, bad.close);
  const server = await startServer({
    config: {
      hubs: {
        [hub]: { eventHandlers: [{ urlTemplate: good.urlTemplate, systemEvents: ['connect', 'connected', 'disconnected'] }] },
        whdenied: { eventHandlers: [{ urlTemplate: bad.urlTemplate, systemEvents: ['connect', 'connected', 'disconnected'] }] },
      },
    },
  });
  cleanups.push(() => stopAll(server));
  // the app is configured the usual way: allowedEndpoints from the connection string's Endpoint
  const endpoint = /Endpoint=([^;]+);/.exec(server.connectionString)[1];
  good.reconfigure({ allowedEndpoints: [endpoint], handleConnect: (req, res) => res.success({ userId: 'allowed' }) });
  bad.reconfigure({ allowedEndpoints: ['https://someone-else.webpubsub.azure.com'], handleConnect: (req, res) => res.success() });

  const c = await jsonClient(server, hub, { userId: 'u' });
  closeAll(c);
  assert.equal(c.connected.userId, 'allowed');
  const options = await good.requests.wait((r) => r.method === 'OPTIONS', 1000, 'validation');
  assert.equal(options.header('webhook-request-origin').toLowerCase(), new URL(endpoint).host.toLowerCase());

  const token = clientToken({ port: server.port, hub: 'whdenied', key: server.key, userId: 'u' });
  assert.equal(await expectRefused(clientUrl(server.port, 'whdenied', token), { protocols: [JSON_PROTOCOL] }), 500);
  await delay(200);
  assert.equal(bad.requests.items.filter((r) => r.method === 'POST').length, 0, bad.requests.describe());
});

// ----------------------------------------------------------------------- URL host, hub case

test('a handler URL naming localhost reaches a handler bound to 127.0.0.1; hub names are case-insensitive', async () => {
  const hub = 'WhMixedCase';
  const handler = await startExpressHandler(hub, { handleConnect: (req, res) => res.success({ userId: 'mixed' }) });
  cleanups.push(handler.close);
  const urlTemplate = `http://localhost:${handler.port}/api/webpubsub/hubs/{hub}/`;
  const server = await startServer({ config: hubConfig(hub, urlTemplate) });
  cleanups.push(() => stopAll(server));
  const c = await jsonClient(server, hub, { userId: 'u' });
  try {
    assert.equal(c.connected.userId, 'mixed');
    const post = await handler.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connect'), 1000, 'connect POST');
    assert.equal(post.header('ce-hub').toLowerCase(), hub.toLowerCase());
  } finally {
    closeAll(c);
  }
});

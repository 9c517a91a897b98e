// Event handlers, part 4 (issue 4, spec §8.1, §8.2, §8.9, §8.10): handler settings reloaded
// from the config file without a restart (with a new validation), cookies set by the handler
// replayed on later events, and retries of a failed `connected` that keep the per-connection order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { startServer, stopAll, jsonClient, closeAll, delay, expectRefused, clientToken, clientUrl } from './harness.mjs';
import { waitFor } from './raw-ws.mjs';
import { startExpressHandler, startRawHandler, answerValidation, hubConfig, isEvent } from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('config reload: a changed handler URL is used without a restart, validated first; a broken file is ignored', async () => {
  const hub = 'whreload';
  const a = await startExpressHandler(hub, { handleConnect: (req, res) => res.success({ userId: 'from-a' }) });
  const b = await startExpressHandler(hub, { handleConnect: (req, res) => res.success({ userId: 'from-b' }) });
  cleanups.push(a.close, b.close);
  const server = await startServer({ config: hubConfig(hub, a.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const configPath = server.args[server.args.indexOf('--config') + 1];

  const first = await jsonClient(server, hub, { userId: 'token-user' });
  closeAll(first);
  assert.equal(first.connected.userId, 'from-a');

  await delay(50); // a different mtime even on coarse clocks
  writeFileSync(configPath, JSON.stringify(hubConfig(hub, b.urlTemplate), null, 2));
  const deadline = Date.now() + 6000;
  let userId;
  while (Date.now() < deadline) {
    const c = await jsonClient(server, hub, { userId: 'token-user' });
    closeAll(c);
    userId = c.connected.userId;
    if (userId === 'from-b') break;
    assert.equal(userId, 'from-a');
    await delay(250);
  }
  assert.equal(userId, 'from-b', `the reloaded handler was not used within 6 s:\n${server.output()}`);
  const firstPost = b.requests.items.findIndex((r) => r.method === 'POST');
  const options = b.requests.items.findIndex((r) => r.method === 'OPTIONS');
  assert.ok(options >= 0 && options < firstPost, `the new handler is validated before use: ${b.requests.describe()}`);

  // An invalid file keeps the last good settings. The server says when it read and refused it:
  // only after that line does a connection prove that the refused file changed nothing.
  await delay(50);
  const ignored = () => server.output().split('config change ignored').length - 1;
  assert.equal(ignored(), 0, server.output());
  writeFileSync(configPath, '{ "hubs": { broken');
  await waitFor(() => ignored() === 1, 6000, `the server reading and refusing the broken file:\n${server.output()}`);
  assert.match(server.output(), /config change ignored: .*config\.json/);
  const c = await jsonClient(server, hub, { userId: 'token-user' });
  closeAll(c);
  assert.equal(c.connected.userId, 'from-b');
  // And the watcher still works: a good file after the broken one is applied.
  await delay(50);
  writeFileSync(configPath, JSON.stringify(hubConfig(hub, a.urlTemplate), null, 2));
  await waitFor(async () => {
    const again = await jsonClient(server, hub, { userId: 'token-user' });
    closeAll(again);
    return again.connected.userId === 'from-a';
  }, 6000, 'the good file after the broken one taking effect');
});

test('cookies: Set-Cookie from connect and user events is replayed as Cookie on later events of that connection', async () => {
  const hub = 'whcookies';
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connect')) {
      res.writeHead(204, { 'Set-Cookie': ['sess=abc; Path=/; HttpOnly'] });
      return res.end();
    }
    if (isEvent(rec, 'azure.webpubsub.user.more')) {
      res.writeHead(200, { 'Set-Cookie': ['second=2'] });
      return res.end();
    }
    res.writeHead(200);
    res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const c = await jsonClient(server, hub, { userId: 'cookie-user' });
  const other = await jsonClient(server, hub, { userId: 'other-user' });
  try {
    const id = c.connected.connectionId;
    const mine = (type) => (r) => isEvent(r, type) && r.header('ce-connectionid') === id;
    const connected = await raw.requests.wait(mine('azure.webpubsub.sys.connected'), 5000, 'connected POST');
    assert.equal(connected.header('cookie'), 'sess=abc');
    c.send({ type: 'event', event: 'more', dataType: 'text', data: 'x', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    c.send({ type: 'event', event: 'check', dataType: 'text', data: 'x', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, true);
    const check = await raw.requests.wait(mine('azure.webpubsub.user.check'), 3000, 'check POST');
    const cookies = check.header('cookie').split(';').map((s) => s.trim()).sort();
    assert.deepEqual(cookies, ['second=2', 'sess=abc']);
    // cookies belong to one connection
    const otherId = other.connected.connectionId;
    other.send({ type: 'event', event: 'check', dataType: 'text', data: 'x', ackId: 3 });
    assert.equal((await other.q.ack(3)).success, true);
    const otherCheck = await raw.requests.wait(
      (r) => isEvent(r, 'azure.webpubsub.user.check') && r.header('ce-connectionid') === otherId,
      3000,
      'other check POST',
    );
    assert.equal(otherCheck.header('cookie'), 'sess=abc', 'only its own connect cookie');
  } finally {
    closeAll(c, other);
  }
});

test('connected answered 503 is retried after ~1 s with the same ce-id; disconnected waits for it', async () => {
  const hub = 'whretry';
  let connectedAttempts = 0;
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connected') && ++connectedAttempts === 1) {
      res.writeHead(503);
      return res.end('try again');
    }
    res.writeHead(isEvent(rec, 'azure.webpubsub.sys.connect') ? 204 : 200);
    res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const c = await jsonClient(server, hub, { userId: 'retry-user' });
  const first = await raw.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.connected'), 5000, 'first connected');
  c.ws.close(); // the disconnected event must still come after the retried connected
  const disconnected = await raw.requests.wait((r) => isEvent(r, 'azure.webpubsub.sys.disconnected'), 5000, 'disconnected');
  const attempts = raw.requests.items.filter((r) => isEvent(r, 'azure.webpubsub.sys.connected'));
  assert.equal(attempts.length, 2, raw.requests.describe());
  const gap = attempts[1].at - first.at;
  assert.ok(gap >= 800 && gap <= 2500, `retry after ${gap} ms, expected ~1 s`);
  assert.equal(attempts[1].header('ce-id'), first.header('ce-id'), 'a retry repeats the event id');
  assert.ok(disconnected.at >= attempts[1].at, 'disconnected only after connected succeeded');
  assert.equal(disconnected.header('ce-connectionid'), c.connected.connectionId);
  assert.notEqual(disconnected.header('ce-id'), first.header('ce-id'));
});

test('the event-handler limits of the config reach the dispatcher: retry delays, attempt count and response size', async () => {
  const hub = 'whlimits';
  const LIMIT = 100;
  // {"groups":["x...x"]} is 15 bytes plus the group name.
  const connectBody = (userId) => JSON.stringify({ groups: ['x'.repeat(LIMIT - 15 + (userId === 'big' ? 1 : 0))] });
  assert.equal(connectBody('small').length, LIMIT);
  const raw = await startRawHandler((rec, res) => {
    if (rec.method !== 'POST') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connect')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(connectBody(rec.header('ce-userid')));
    }
    // connected: always 503, so it is retried after each configured delay and then given up.
    res.writeHead(isEvent(rec, 'azure.webpubsub.sys.connected') ? 503 : 200);
    return res.end();
  });
  cleanups.push(raw.close);
  const config = {
    ...hubConfig(hub, raw.urlTemplate),
    limits: { eventHandlerRetryDelaysMs: [200, 400], maxEventHandlerResponseBytes: LIMIT },
  };
  const server = await startServer({ config });
  cleanups.push(() => stopAll(server));

  // A connect answer of exactly the limit is read; one byte more refuses the client (500).
  const small = await jsonClient(server, hub, { userId: 'small' });
  closeAll(small);
  const bigToken = clientToken({ port: server.port, hub, key: server.key, userId: 'big' });
  assert.equal(await expectRefused(clientUrl(server.port, hub, bigToken)), 500);
  assert.match(server.output(), /response body too large/);

  // Two delays: three attempts of the connected event, ~200 ms and ~400 ms apart, and no fourth
  // (the default delays would retry after 1 s, 3 s and 5 s).
  const connected = () => raw.requests.items.filter((r) => isEvent(r, 'azure.webpubsub.sys.connected'));
  await waitFor(() => connected().length >= 3, 5000, 'three connected attempts');
  const [a, b, c] = connected();
  assert.ok(b.at - a.at >= 180 && b.at - a.at < 900, `first retry after ${b.at - a.at} ms, expected ~200`);
  assert.ok(c.at - b.at >= 380 && c.at - b.at < 1500, `second retry after ${c.at - b.at} ms, expected ~400`);
  await delay(1500);
  assert.equal(connected().length, 3, raw.requests.describe());
});

test('server shutdown (SIGTERM): every connected client still gets its disconnected event', async () => {
  const hub = 'whshutdown';
  const handler = await startExpressHandler(hub);
  cleanups.push(handler.close);
  const server = await startServer({ config: hubConfig(hub, handler.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const clients = await Promise.all([1, 2, 3].map((i) => jsonClient(server, hub, { userId: `sd${i}` })));
  try {
    for (const c of clients) {
      const id = c.connected.connectionId;
      await handler.events.wait((e) => e.kind === 'connected' && e.req.context.connectionId === id, 5000, `connected ${id}`);
    }
    const exit = await server.stop('SIGTERM', 8000);
    assert.equal(exit.code, 0);
    for (const c of clients) {
      const id = c.connected.connectionId;
      const d = await handler.events.wait(
        (e) => e.kind === 'disconnected' && e.req.context.connectionId === id,
        1000,
        `disconnected ${id} (spec §8.6: always sent once for every connection whose connect succeeded)`,
      );
      assert.equal(typeof d.req.reason, 'string');
    }
  } finally {
    closeAll(...clients);
  }
});

test('validation falls back to GET when OPTIONS is 404; a client that gives up during a slow connect leaves no unpaired connected', async () => {
  const hub = 'whgetfallback';
  const raw = await startRawHandler((rec, res) => {
    if (rec.method === 'OPTIONS') {
      res.writeHead(404);
      return res.end();
    }
    if (rec.method === 'GET') return answerValidation(res);
    if (isEvent(rec, 'azure.webpubsub.sys.connect')) {
      const sub = JSON.parse(rec.body.toString('utf8')).claims.sub[0];
      // answered after the client has given up on its handshake
      setTimeout(() => {
        res.writeHead(204);
        res.end();
      }, sub === 'impatient' ? 700 : 0);
      return undefined;
    }
    res.writeHead(200);
    return res.end();
  });
  cleanups.push(raw.close);
  const server = await startServer({ config: hubConfig(hub, raw.urlTemplate) });
  cleanups.push(() => stopAll(server));
  const c = await jsonClient(server, hub, { userId: 'patient' });
  closeAll(c);
  assert.deepEqual(
    raw.requests.items.slice(0, 3).map((r) => r.method),
    ['OPTIONS', 'GET', 'POST'],
    raw.requests.describe(),
  );
  const { openSocket, clientToken, clientUrl, JSON_PROTOCOL } = await import('./harness.mjs');
  const token = clientToken({ port: server.port, hub, key: server.key, userId: 'impatient' });
  await assert.rejects(openSocket(clientUrl(server.port, hub, token), { protocols: [JSON_PROTOCOL], timeoutMs: 200 }));
  await delay(1500);
  const kinds = (name) =>
    raw.requests.items.filter((r) => r.method === 'POST' && r.header('ce-userid') === name).map((r) => r.header('ce-eventname'));
  const impatient = kinds('impatient');
  assert.ok(
    JSON.stringify(impatient) === '["connect"]' || JSON.stringify(impatient) === '["connect","connected","disconnected"]',
    `an abandoned handshake yields no events or a connected/disconnected pair, got ${impatient}`,
  );
  assert.deepEqual(kinds('patient'), ['connect', 'connected', 'disconnected']);
});

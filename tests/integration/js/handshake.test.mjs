// Client endpoints, token validation and handshake statuses (spec §2, §3.2, §3.3, §4.7),
// health, start-up output, hub case-insensitivity, anonymous access per hub.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  stopAll,
  openSocket,
  expectRefused,
  clientToken,
  clientUrl,
  jsonClient,
  closeAll,
  assertStillWorking,
  httpRequest,
  DEFAULT_KEY,
  JSON_PROTOCOL,
  RELIABLE_JSON_PROTOCOL,
} from './harness.mjs';

const PRIMARY = 'PrimaryKeyForIntegrationTests-0123456789abcdef';
const SECONDARY = 'SecondaryKeyForIntegrationTests-0123456789abcd';
const HUB = 'chat';
const now = () => Math.floor(Date.now() / 1000);

let server; // default key, no anonymous
let keyed; // --access-key PRIMARY --secondary-access-key SECONDARY
const clients = [];

before(async () => {
  server = await startServer();
  keyed = await startServer({ args: ['--access-key', PRIMARY, '--secondary-access-key', SECONDARY] });
});

after(async () => {
  closeAll(...clients);
  await stopAll(server, keyed);
});

async function connectOk(url, opts = {}) {
  const r = await openSocket(url, { protocols: [JSON_PROTOCOL], ...opts });
  clients.push(r);
  assert.equal(r.protocol, JSON_PROTOCOL);
  const m = await r.q.nextJson((x) => x.type === 'system' && x.event === 'connected', 5000, 'connected');
  return { ...r, connected: m };
}

function tok(opts = {}) {
  return clientToken({ port: server.port, hub: HUB, key: server.key, ...opts });
}

describe('start-up output', () => {
  test('prints the emulator-style connection string with the default key', () => {
    assert.equal(server.key, DEFAULT_KEY);
    assert.match(server.stdout(), /Endpoint=http:\/\/localhost:\d+;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1\.0;/);
    assert.ok(server.port > 0);
  });
  test('prints the configured primary key', () => {
    assert.equal(keyed.key, PRIMARY);
  });

  // The well-known development key on an address others can reach would let anyone connect and
  // publish: the server refuses to start (exit status 2, before it listens) unless told to.
  test('refuses the development key on a non-loopback address, as primary or secondary key', async () => {
    for (const args of [
      ['--host', '0.0.0.0'],
      ['--host', '::'],
      ['--host', '0.0.0.0', '--access-key', PRIMARY, '--secondary-access-key', DEFAULT_KEY],
    ]) {
      const refused = await startServer({ args, readyTimeoutMs: 10000 }).then(
        async (s) => {
          await s.stop();
          return null;
        },
        (err) => err,
      );
      assert.ok(refused, `started with ${args.join(' ')}`);
      assert.match(refused.message, /exited before ready \(code 2,/, args.join(' '));
      assert.match(refused.message, new RegExp(`refusing to listen on '${args[1].replace(/[.:]/g, '\\$&')}' with the well-known development access key`), args.join(' '));
      assert.doesNotMatch(refused.message, /Endpoint=/, 'it never listened');
    }
  });

  test('the development key is accepted on loopback, and on a public address only when allowed; any other key anywhere', async () => {
    for (const args of [
      ['--host', '127.0.0.1'],
      ['--host', 'localhost'],
      ['--host', '0.0.0.0', '--allow-default-key-on-public-address'],
      ['--host', '0.0.0.0', '--access-key', PRIMARY],
    ]) {
      const s = await startServer({ args });
      try {
        const r = await httpRequest(`http://127.0.0.1:${s.port}/api/health`);
        assert.equal(r.status, 200, args.join(' '));
      } finally {
        await s.stop();
      }
    }
  });
});

describe('health', () => {
  test('GET /api/health -> 200', async () => {
    const r = await httpRequest(`http://localhost:${server.port}/api/health`);
    assert.equal(r.status, 200);
  });
  test('HEAD /api/health -> 200', async () => {
    const r = await httpRequest(`http://localhost:${server.port}/api/health`, { method: 'HEAD' });
    assert.equal(r.status, 200);
  });
});

describe('handshake statuses', () => {
  // bystanders connected before every refusal below; checked at the end
  let pub;
  let sub;
  before(async () => {
    pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    sub = await jsonClient(server, HUB, { groups: ['bystanders'] });
    clients.push(pub, sub);
  });

  test('not a WebSocket request -> 400', async () => {
    const r = await httpRequest(clientUrl(server.port, HUB, tok()).replace('ws://', 'http://'));
    assert.equal(r.status, 400);
  });

  test('missing token (anonymous not allowed) -> 401', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB), { protocols: [JSON_PROTOCOL] }), 401);
    assert.equal(await expectRefused(clientUrl(server.port, HUB)), 401);
  });

  test('bad signature -> 401', async () => {
    const t = clientToken({ port: server.port, hub: HUB, key: 'SomeOtherKeyThatIsLongEnough-0123456789' });
    assert.equal(await expectRefused(clientUrl(server.port, HUB, t)), 401);
  });

  test('tampered payload -> 401', async () => {
    const good = tok({ userId: 'alice' });
    const [h, , s] = good.split('.');
    const forged = Buffer.from(
      JSON.stringify({ aud: `http://localhost:${server.port}/client/hubs/${HUB}`, exp: now() + 3600, sub: 'mallory' }),
    ).toString('base64url');
    assert.equal(await expectRefused(clientUrl(server.port, HUB, `${h}.${forged}.${s}`)), 401);
  });

  test('garbage token -> 401', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB, 'not-a-jwt')), 401);
  });

  test('expired beyond the 5 min skew -> 401', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB, tok({ exp: now() - 600, iat: now() - 4000 }))), 401);
  });

  test('expired within the 5 min skew -> accepted', async () => {
    await connectOk(clientUrl(server.port, HUB, tok({ exp: now() - 60, iat: now() - 3600 })));
  });

  test('not yet valid beyond the skew (nbf) -> 401', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB, tok({ nbf: now() + 600 }))), 401);
  });

  test('nbf within the skew -> accepted', async () => {
    await connectOk(clientUrl(server.port, HUB, tok({ nbf: now() + 60 })));
  });

  test('wrong aud (other hub) -> 401', async () => {
    const t = tok({ aud: `http://localhost:${server.port}/client/hubs/other` });
    assert.equal(await expectRefused(clientUrl(server.port, HUB, t)), 401);
  });

  test('wrong aud (other host) -> 401', async () => {
    const t = tok({ aud: `http://example.com:${server.port}/client/hubs/${HUB}` });
    assert.equal(await expectRefused(clientUrl(server.port, HUB, t)), 401);
  });

  test('alg none -> 401', async () => {
    const t = tok({ header: { alg: 'none', typ: 'JWT' } });
    assert.equal(await expectRefused(clientUrl(server.port, HUB, t)), 401);
  });

  test('token signed with the access key but alg HS512 header -> 401', async () => {
    const t = tok({ header: { alg: 'HS512', typ: 'JWT' } }); // signed with HS256 bytes, header lies
    assert.equal(await expectRefused(clientUrl(server.port, HUB, t)), 401);
  });

  test('token with a whitespace-only group -> 400', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB, tok({ groups: ['ok', '   '] }))), 400);
  });

  test('token with a 1025-char group -> 400', async () => {
    assert.equal(await expectRefused(clientUrl(server.port, HUB, tok({ groups: 'g'.repeat(1025) }))), 400);
  });

  test('invalid hub name -> 400', async () => {
    const t = clientToken({ port: server.port, hub: '1bad', key: server.key });
    assert.equal(await expectRefused(clientUrl(server.port, '1bad', t)), 400);
  });

  test('query token wins over the Authorization header', async () => {
    const good = tok({ userId: 'from-query' });
    const bad = clientToken({ port: server.port, hub: HUB, key: 'SomeOtherKeyThatIsLongEnough-0123456789' });
    const c = await connectOk(clientUrl(server.port, HUB, good), { headers: { Authorization: `Bearer ${bad}` } });
    assert.equal(c.connected.userId, 'from-query');
    assert.equal(
      await expectRefused(clientUrl(server.port, HUB, bad), { headers: { Authorization: `Bearer ${good}` } }),
      401,
    );
  });

  test('clients connected before the refused handshakes keep working', async () => {
    await assertStillWorking(pub, sub, 'bystanders', 'handshake');
  });

  test('token signed with the secondary key is accepted; with the default key refused', async () => {
    const t2 = clientToken({ port: keyed.port, hub: HUB, key: SECONDARY });
    await connectOk(clientUrl(keyed.port, HUB, t2));
    const t1 = clientToken({ port: keyed.port, hub: HUB, key: PRIMARY });
    await connectOk(clientUrl(keyed.port, HUB, t1));
    const t0 = clientToken({ port: keyed.port, hub: HUB, key: DEFAULT_KEY });
    assert.equal(await expectRefused(clientUrl(keyed.port, HUB, t0)), 401);
  });
});

describe('token placement and endpoints', () => {
  test('Authorization: Bearer header', async () => {
    const c = await connectOk(clientUrl(server.port, HUB), { headers: { Authorization: `Bearer ${tok({ userId: 'hdr' })}` } });
    assert.equal(c.connected.userId, 'hdr');
  });

  test('bad token in Authorization header -> 401', async () => {
    const bad = clientToken({ port: server.port, hub: HUB, key: 'SomeOtherKeyThatIsLongEnough-0123456789' });
    assert.equal(await expectRefused(clientUrl(server.port, HUB), { headers: { Authorization: `Bearer ${bad}` } }), 401);
  });

  test('/client/?hub=<hub> form with the /client/hubs/<hub> audience', async () => {
    const c = await connectOk(`ws://localhost:${server.port}/client/?hub=${HUB}&access_token=${tok({ userId: 'q' })}`);
    assert.equal(c.connected.userId, 'q');
  });

  test('/client/?hub= with a token for another hub -> 401', async () => {
    const t = clientToken({ port: server.port, hub: 'other', key: server.key });
    assert.equal(await expectRefused(`ws://localhost:${server.port}/client/?hub=${HUB}&access_token=${t}`), 401);
  });

  test('sub -> userId', async () => {
    const c = await connectOk(clientUrl(server.port, HUB, tok({ userId: 'user-42' })));
    assert.equal(c.connected.userId, 'user-42');
  });

  test('aud with ws:// scheme, trailing slash, or different case is accepted', async () => {
    for (const aud of [
      `ws://localhost:${server.port}/client/hubs/${HUB}`,
      `http://localhost:${server.port}/client/hubs/${HUB}/`,
      `HTTP://LOCALHOST:${server.port}/CLIENT/HUBS/${HUB.toUpperCase()}`,
    ]) {
      await connectOk(clientUrl(server.port, HUB, tok({ aud })));
    }
  });
});

describe('subprotocol negotiation', () => {
  test('json.webpubsub.azure.v1 is echoed', async () => {
    const c = await connectOk(clientUrl(server.port, HUB, tok()));
    assert.equal(c.protocol, JSON_PROTOCOL);
  });

  test('no subprotocol -> simple client: no subprotocol, no connected message', async () => {
    const r = await openSocket(clientUrl(server.port, HUB, tok()));
    clients.push(r);
    assert.equal(r.protocol, '');
    await r.q.expectNothing(500);
  });

  test('unknown subprotocol only -> none echoed (ws refuses the connection)', async () => {
    await assert.rejects(openSocket(clientUrl(server.port, HUB, tok()), { protocols: ['custom.v1'] }), /subprotocol|Server sent no subprotocol/i);
  });

  test('json.reliable.webpubsub.azure.v1 alone: negotiated, with reliable semantics', async () => {
    const t = tok({ groups: ['rel'] });
    const r = await openSocket(clientUrl(server.port, HUB, t), { protocols: [RELIABLE_JSON_PROTOCOL] });
    clients.push(r);
    assert.equal(r.protocol, RELIABLE_JSON_PROTOCOL);
    const connected = await r.q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'connected');
    assert.equal(typeof connected.reconnectionToken, 'string', 'reliable connected message has a reconnectionToken');
    assert.ok(connected.reconnectionToken.length > 0);
    const pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    clients.push(pub);
    pub.send({ type: 'sendToGroup', group: 'rel', dataType: 'text', data: 'r1', ackId: 1 });
    assert.equal((await pub.q.ack(1)).success, true);
    const m = await r.q.groupMessage('rel');
    assert.equal(m.sequenceId, 1, 'first data message of a reliable connection has sequenceId 1');
  });

  test('offering reliable first and json second -> the first one (reliable) is echoed', async () => {
    const r = await openSocket(clientUrl(server.port, HUB, tok()), { protocols: [RELIABLE_JSON_PROTOCOL, JSON_PROTOCOL] });
    clients.push(r);
    assert.equal(r.protocol, RELIABLE_JSON_PROTOCOL);
  });

  test('offering json first and reliable second -> json is echoed', async () => {
    const r = await openSocket(clientUrl(server.port, HUB, tok()), { protocols: [JSON_PROTOCOL, RELIABLE_JSON_PROTOCOL] });
    clients.push(r);
    assert.equal(r.protocol, JSON_PROTOCOL);
    const connected = await r.q.nextJson((m) => m.type === 'system' && m.event === 'connected', 5000, 'connected');
    assert.equal(connected.reconnectionToken, undefined, 'a plain json connection gets no reconnectionToken');
  });
});

describe('hubs are case-insensitive', () => {
  test('token minted for "Chat" works on /client/hubs/chat and messages cross between them', async () => {
    const upper = clientToken({ port: server.port, hub: 'Chat', key: server.key, roles: ['webpubsub.sendToGroup'], userId: 'U' });
    const lower = clientToken({ port: server.port, hub: 'chat', key: server.key, groups: ['cross'] });
    const a = await connectOk(`ws://localhost:${server.port}/client/hubs/chat?access_token=${upper}`);
    const b = await connectOk(`ws://localhost:${server.port}/client/hubs/CHAT?access_token=${lower}`);
    a.ws.send(JSON.stringify({ type: 'sendToGroup', group: 'cross', dataType: 'text', data: 'across', ackId: 1 }));
    assert.equal((await a.q.ack(1)).success, true);
    const m = await b.q.groupMessage('cross');
    assert.equal(m.data, 'across');
    assert.equal(m.fromUserId, 'U');
  });

  test('different hubs are isolated', async () => {
    const other = await jsonClient(server, 'otherhub', { groups: ['iso'] });
    clients.push(other);
    const pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
    clients.push(pub);
    pub.send({ type: 'sendToGroup', group: 'iso', dataType: 'text', data: 'x', ackId: 1 });
    assert.equal((await pub.q.ack(1)).success, true);
    await other.q.expectNothing(400);
  });
});

describe('anonymous connections per hub', () => {
  let cfg;
  let flag;
  before(async () => {
    cfg = await startServer({ config: { hubs: { open: { allowAnonymous: true } } } });
    flag = await startServer({ args: ['--allow-anonymous'] });
  });
  after(async () => {
    await stopAll(cfg, flag);
  });

  test('default deny: no token -> 401 on a hub not configured', async () => {
    assert.equal(await expectRefused(clientUrl(cfg.port, 'closed'), { protocols: [JSON_PROTOCOL] }), 401);
  });

  test('hub with allowAnonymous connects without a token (userId null)', async () => {
    const c = await connectOk(clientUrl(cfg.port, 'open'));
    assert.equal(c.connected.userId, null);
    // case-insensitive hub lookup for the setting too
    await connectOk(clientUrl(cfg.port, 'OPEN'));
  });

  test('an invalid token is still rejected on an anonymous hub', async () => {
    const bad = clientToken({ port: cfg.port, hub: 'open', key: 'SomeOtherKeyThatIsLongEnough-0123456789' });
    assert.equal(await expectRefused(clientUrl(cfg.port, 'open', bad)), 401);
  });

  test('a valid token on an anonymous hub still gives its userId', async () => {
    const t = clientToken({ port: cfg.port, hub: 'open', key: cfg.key, userId: 'named' });
    const c = await connectOk(clientUrl(cfg.port, 'open', t));
    assert.equal(c.connected.userId, 'named');
  });

  test('_default hub settings apply to unlisted hubs', async () => {
    const d = await startServer({ config: { hubs: { _default: { allowAnonymous: true }, strict: { allowAnonymous: false } } } });
    try {
      await connectOk(clientUrl(d.port, 'anyhub'));
      assert.equal(await expectRefused(clientUrl(d.port, 'strict')), 401);
    } finally {
      await d.stop();
    }
  });

  test('--allow-anonymous flag', async () => {
    const c = await connectOk(clientUrl(flag.port, 'whatever'));
    assert.equal(c.connected.userId, null);
  });

  test('anonymous clients have no roles', async () => {
    const c = await connectOk(clientUrl(flag.port, 'whatever'));
    c.ws.send(JSON.stringify({ type: 'joinGroup', group: 'g', ackId: 1 }));
    assert.equal((await c.q.ack(1)).error?.name, 'Forbidden');
  });
});

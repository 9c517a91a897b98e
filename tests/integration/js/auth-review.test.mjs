// Auth review (issue 7, part 3): only HS256 tokens, hub binding of client and REST tokens,
// reconnection tokens bound to their connection, and access keys that never appear in the
// server's output or in any response, however the requests fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, createHmac } from 'node:crypto';
import WebSocket from 'ws';
import {
  startServer,
  closeAll,
  clientToken,
  clientUrl,
  expectRefused,
  signJwt,
  withTimeout,
  delay,
  JSON_PROTOCOL,
  RELIABLE_JSON_PROTOCOL,
} from './harness.mjs';
import { rawRequest, restToken } from './rest-helpers.mjs';
import { rawUpgrade } from './raw-ws.mjs';

const KEY = 'LeakCanary-7f3a9c2e5b1d-DO-NOT-PRINT-0123456789';
const SECONDARY = 'LeakCanarySecondary-19e7c44a-DO-NOT-PRINT-9876';
const now = () => Math.floor(Date.now() / 1000);

let server;
const sockets = [];
before(async () => {
  server = await startServer({ args: ['--access-key', KEY, '--secondary-access-key', SECONDARY, '--log-level', 'trace'] });
});
after(async () => {
  closeAll(...sockets);
  if (server) await server.stop();
});

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

/** A token with `header`, signed as its alg says (HS384/HS512 with the key, RS256 with a new RSA key). */
function tokenWithAlg(alg, payload, key = KEY) {
  const head = b64url({ alg, typ: 'JWT' });
  const body = b64url(payload);
  const input = `${head}.${body}`;
  if (alg === 'none') return `${input}.`;
  if (alg.startsWith('HS')) {
    const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
    return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}

test('only HS256 is accepted: none, HS384, HS512, RS256 and a lower-case hs256 are refused on the client endpoint and the REST API', async () => {
  const aud = `http://localhost:${server.port}/client/hubs/algs`;
  const ok = signJwt({ aud, exp: now() + 600 }, KEY);
  const good = await rawUpgrade(server.port, `/client/hubs/algs?access_token=${ok}`, { protocol: JSON_PROTOCOL });
  assert.equal(good.status, 101, 'the HS256 control token connects');
  good.destroy();
  const restPath = '/api/hubs/algs/:send?api-version=2024-12-01';
  const restAud = `${server.endpoint}${restPath}`;
  for (const alg of ['none', 'HS384', 'HS512', 'RS256', 'hs256']) {
    const token = tokenWithAlg(alg, { aud, exp: now() + 600 });
    assert.equal(await expectRefused(clientUrl(server.port, 'algs', token), { protocols: [JSON_PROTOCOL] }), 401, `client ${alg}`);
    const rest = await rawRequest(server, restPath, { token: tokenWithAlg(alg, { aud: restAud, exp: now() + 600 }), body: 'x', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(rest.status, 401, `REST ${alg}: ${rest.text}`);
  }
  const control = await rawRequest(server, restPath, { body: 'x', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(control.status, 202, 'the HS256 control token is accepted by REST');
});

test('a token for hub A is refused on hub B (client endpoint, /client/?hub=, REST)', async () => {
  const forA = clientToken({ port: server.port, hub: 'huba', key: KEY, userId: 'u' });
  assert.equal(await expectRefused(clientUrl(server.port, 'hubb', forA), { protocols: [JSON_PROTOCOL] }), 401);
  assert.equal(await expectRefused(`ws://localhost:${server.port}/client/?hub=hubb&access_token=${forA}`, { protocols: [JSON_PROTOCOL] }), 401);
  const urlA = `${server.endpoint}/api/hubs/huba/:send?api-version=2024-12-01`;
  const rest = await rawRequest(server, '/api/hubs/hubb/:send?api-version=2024-12-01', {
    token: restToken(urlA, KEY),
    body: 'x',
    headers: { 'Content-Type': 'text/plain' },
  });
  assert.equal(rest.status, 401);
});

test('exp and nbf are enforced on REST tokens too (beyond the 5 min skew)', async () => {
  const path = '/api/hubs/times/:send?api-version=2024-12-01';
  for (const [label, tokenOptions, status] of [
    ['expired 10 min ago', { exp: now() - 600, iat: now() - 4000 }, 401],
    ['expired 1 min ago (within the skew)', { exp: now() - 60, iat: now() - 4000 }, 202],
    ['nbf in 10 min', { nbf: now() + 600 }, 401],
    ['nbf in 1 min (within the skew)', { nbf: now() + 60 }, 202],
  ]) {
    const r = await rawRequest(server, path, { tokenOptions, body: 'x', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(r.status, status, `${label}: ${r.text}`);
  }
});

/** A reliable JSON client; resolves { ws, connected, closed }. */
function reliable(hub, query = '') {
  const token = clientToken({ port: server.port, hub, key: KEY, userId: `r-${hub}` });
  const ws = new WebSocket(`${clientUrl(server.port, hub, token)}${query}`, [RELIABLE_JSON_PROTOCOL]);
  sockets.push(ws);
  const closed = new Promise((res) => ws.once('close', (code) => res(code)));
  ws.on('error', () => {});
  const connected = new Promise((res) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.event === 'connected') res(m);
    });
  });
  return { ws, connected, closed };
}

const recovery = (c) => `&awps_connection_id=${c.connectionId}&awps_reconnection_token=${c.reconnectionToken}`;

test('reconnection tokens are bound to their connection: X\'s token with Y\'s id, or on another hub, is refused with 1008', async () => {
  const x = reliable('rec');
  const y = reliable('rec');
  const cx = await withTimeout(x.connected, 5000, 'x connected');
  const cy = await withTimeout(y.connected, 5000, 'y connected');
  assert.notEqual(cx.reconnectionToken, cy.reconnectionToken);
  x.ws.terminate();
  y.ws.terminate();
  await delay(200);
  const attempts = [
    ['X token with Y id', 'rec', `&awps_connection_id=${cy.connectionId}&awps_reconnection_token=${cx.reconnectionToken}`],
    ['Y token with X id', 'rec', `&awps_connection_id=${cx.connectionId}&awps_reconnection_token=${cy.reconnectionToken}`],
    ['X pair on another hub', 'other', recovery(cx)],
    ['X id with a truncated token', 'rec', `&awps_connection_id=${cx.connectionId}&awps_reconnection_token=${cx.reconnectionToken.slice(0, 63)}`],
    ['X id with an empty token', 'rec', `&awps_connection_id=${cx.connectionId}&awps_reconnection_token=`],
    ['X id with the upper-cased token', 'rec', `&awps_connection_id=${cx.connectionId}&awps_reconnection_token=${cx.reconnectionToken.toUpperCase()}`],
  ];
  for (const [label, hub, query] of attempts) {
    const r = reliable(hub, query);
    assert.equal(await withTimeout(r.closed, 5000, label), 1008, label);
  }
  // The failed attempts did not end the real sessions: each recovers with its own pair.
  for (const c of [cx, cy]) {
    const r = reliable('rec', recovery(c));
    const again = await withTimeout(r.connected, 5000, 'recovered');
    assert.equal(again.connectionId, c.connectionId);
    r.ws.close(1000);
  }
});

test('access keys never appear in the output or in any response, whatever fails', async () => {
  const responses = [];
  const record = (r) => responses.push(JSON.stringify({ status: r.status, headers: r.headers, body: r.text ?? r.body }));
  const aud = `http://localhost:${server.port}/client/hubs/leak`;
  // Client endpoint: every kind of bad token, in the query and in the header.
  const badTokens = [
    signJwt({ aud, exp: now() + 600 }, 'wrong-key'),
    signJwt({ aud, exp: now() - 3600 }, KEY),
    signJwt({ aud, nbf: now() + 3600, exp: now() + 7200 }, KEY),
    signJwt({ aud: `${aud}x`, exp: now() + 600 }, KEY),
    signJwt({ aud, exp: now() + 600, 'webpubsub.group': [' '] }, KEY),
    tokenWithAlg('none', { aud, exp: now() + 600 }),
    tokenWithAlg('HS384', { aud, exp: now() + 600 }),
    'garbage.token.here',
    KEY, // the key itself as a token must not be echoed
  ];
  for (const t of badTokens) {
    record(await rawUpgrade(server.port, `/client/hubs/leak?access_token=${encodeURIComponent(t)}`, { protocol: JSON_PROTOCOL }));
    record(await rawUpgrade(server.port, '/client/hubs/leak', { protocol: JSON_PROTOCOL, headers: { Authorization: `Bearer ${t}` } }));
  }
  // REST: bad signatures, wrong audiences, bad bodies, unknown routes, the key as a token.
  const path = '/api/hubs/leak/:send?api-version=2024-12-01';
  for (const options of [
    { key: 'wrong-key' },
    { tokenOptions: { aud: 'http://elsewhere/api' } },
    { tokenOptions: { exp: now() - 3600 } },
    { token: KEY },
    { token: false },
    { body: '{not json', headers: { 'Content-Type': 'application/json' } },
    { headers: { 'Content-Type': 'application/x-unknown' } },
  ]) {
    record(await rawRequest(server, path, { body: 'x', headers: { 'Content-Type': 'text/plain' }, ...options }));
  }
  record(await rawRequest(server, '/api/hubs/leak/connections/x/groups/%20?api-version=2024-12-01', { method: 'PUT' }));
  record(await rawRequest(server, '/api/hubs/leak/:generateToken?api-version=2024-12-01&minutesToExpire=0', {}));
  record(await rawRequest(server, '/api/hubs/leak/:nosuch?api-version=1999-01-01', {}));
  // Recovery with forged tokens, protocol violations.
  const r = reliable('leak', `&awps_connection_id=${'a'.repeat(32)}&awps_reconnection_token=${KEY}`);
  await withTimeout(r.closed, 5000, 'forged recovery closed');
  await delay(300);

  const forms = [KEY, SECONDARY];
  for (const k of [KEY, SECONDARY]) {
    forms.push(Buffer.from(k).toString('base64'), Buffer.from(k).toString('base64url'), Buffer.from(k).toString('hex'));
    forms.push(k.slice(0, 16)); // no fragment of it either
  }
  const bodies = responses.join('\n');
  // The one permitted appearance: the connection string printed at start-up for local use.
  const output = (server.stdout() + server.stderr()).split('\n').filter((l) => !l.includes(server.printedLine)).join('\n');
  assert.ok(output.length > 500, `trace logging produced output (${output.length} bytes)`);
  for (const f of forms) {
    assert.ok(!bodies.includes(f), `a response contains the key form ${f}`);
    assert.ok(!output.includes(f), `the server output contains the key form ${f}`);
  }
  assert.equal(server.stdout().split(KEY).length - 1, 1, 'the key appears once: in the start-up connection string');
});

// TLS for the client endpoint and the REST API (issue 7, item 6).
// - --tls-self-signed makes a certificate for localhost and prints how to trust it; with only
//   NODE_EXTRA_CA_CERTS set, the official JS SDKs work over https/wss WITHOUT
//   allowInsecureConnection, and the Python SDK + websockets work with the certificate as CA.
// - --tls-cert-file/--tls-key-file are re-read on SIGHUP: new connections get the new
//   certificate, connections already open keep working.
// - Plain HTTP or garbage sent to the TLS port closes that socket only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import tls from 'node:tls';
import net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { startServer, stopAll, makeTmpDir, withTimeout, delay, INTEGRATION_DIR } from './harness.mjs';

after(async () => {
  await stopAll();
});

function run(cmd, args, { env = {}, input, timeoutMs = 30000 } = {}) {
  return withTimeout(
    new Promise((resolve) => {
      const child = spawn(cmd, args, { cwd: INTEGRATION_DIR, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
      if (input !== undefined) child.stdin.end(input);
      else child.stdin.end();
    }),
    timeoutMs,
    `${cmd} ${args.join(' ').slice(0, 60)}`,
  );
}

function makeCertificate(dir, name, cn) {
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}-cert.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { key, cert };
}

/** Opens a TLS connection (not verifying) and resolves { socket, cn } with the server's CN. */
function tlsConnect(port) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () =>
        resolve({ socket, cn: socket.getPeerCertificate().subject?.CN, protocol: socket.getProtocol() }),
      );
      socket.once('error', reject);
    }),
    5000,
    'TLS connect',
  );
}

/** One HTTP/1.1 keep-alive request on an open socket; resolves the status line. */
function healthOver(socket) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let buf = '';
      const onData = (d) => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n\r\n')) {
          socket.off('data', onData);
          resolve(buf.split('\r\n')[0]);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write('GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    }),
    5000,
    'health over an open connection',
  );
}

// What an app does with the SDKs, in a child process whose only trust setting is
// NODE_EXTRA_CA_CERTS (read at process start): mint a client URL, connect the client SDK over
// wss, join a group, send to it from the server SDK over https, receive it.
const JS_APP = `
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient } from '@azure/web-pubsub-client';
const service = new WebPubSubServiceClient(process.env.CONN, 'tlshub');
const { url } = await service.getClientAccessToken({ roles: ['webpubsub.joinLeaveGroup'] });
if (!url.startsWith('wss://')) throw new Error('expected a wss:// client URL, got ' + url);
const client = new WebPubSubClient(url);
const got = new Promise((resolve) => client.on('group-message', (e) => resolve(e.message.data)));
await client.start();
await client.joinGroup('g');
await service.group('g').sendToAll('over tls', { contentType: 'text/plain' });
const data = await got;
console.log('RECEIVED ' + data);
await client.stop();
process.exit(0);
`;

test('--tls-self-signed: the JS SDKs over https/wss trust it through NODE_EXTRA_CA_CERTS alone; Python too', async () => {
  const dir = makeTmpDir('selfsigned-');
  const server = await startServer({ args: ['--tls-self-signed', '--tls-self-signed-dir', dir] });
  assert.equal(server.scheme, 'https');
  const cert = path.join(dir, 'localhost-cert.pem');
  assert.match(server.stdout(), new RegExp(`NODE_EXTRA_CA_CERTS=${cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const conn = `Endpoint=https://localhost:${server.port};AccessKey=${server.key};Version=1.0;`;

  const appFile = path.join(dir, 'app.mjs');
  writeFileSync(appFile, JS_APP);
  // (in tests/integration/.tmp: the SDKs resolve from tests/integration/node_modules)
  const js = await run('node', [appFile], {
    env: { NODE_EXTRA_CA_CERTS: cert, CONN: conn },
  });
  assert.equal(js.code, 0, js.out);
  assert.match(js.out, /RECEIVED over tls/);

  // Without trusting it, the same app fails (the test can fail).
  const untrusted = await run('node', [appFile], {
    env: { NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', CONN: conn },
  });
  assert.notEqual(untrusted.code, 0, 'an untrusted certificate must be refused');

  const py = await run('/usr/bin/python3', ['-'], {
    env: { REQUESTS_CA_BUNDLE: cert, CONN: conn, CERT: cert },
    input: `
import asyncio, os, ssl, websockets
from azure.messaging.webpubsubservice import WebPubSubServiceClient
service = WebPubSubServiceClient.from_connection_string(os.environ['CONN'], hub='pyhub')
url = service.get_client_access_token()['url']
assert url.startswith('wss://'), url
async def main():
    ctx = ssl.create_default_context(cafile=os.environ['CERT'])
    async with websockets.connect(url, ssl=ctx) as ws:
        service.send_to_all('python over tls', content_type='text/plain')
        print('RECEIVED', await asyncio.wait_for(ws.recv(), 10))
asyncio.run(main())
`,
  });
  assert.equal(py.code, 0, py.out);
  assert.match(py.out, /RECEIVED python over tls/);

  // The certificate is reused by the next start.
  await server.stop();
  const again = await startServer({ args: ['--tls-self-signed', '--tls-self-signed-dir', dir] });
  assert.match(again.stdout(), /Using a self-signed development certificate/);
  await again.stop();
});

test('SIGHUP reloads the certificate: new connections get the new one, open ones keep working; TLS 1.2+', async () => {
  const dir = makeTmpDir('reload-');
  const a = makeCertificate(dir, 'a', 'cert-a');
  const b = makeCertificate(dir, 'b', 'cert-b');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  copyFileSync(a.cert, certFile);
  copyFileSync(a.key, keyFile);
  const server = await startServer({ args: ['--tls-cert-file', certFile, '--tls-key-file', keyFile] });
  const first = await tlsConnect(server.port);
  assert.equal(first.cn, 'cert-a');
  assert.match(first.protocol, /^TLSv1\.[23]$/);
  assert.match(await healthOver(first.socket), / 200 /);

  copyFileSync(b.cert, certFile);
  copyFileSync(b.key, keyFile);
  server.proc.kill('SIGHUP');
  for (let i = 0; i < 100 && !/reloaded the TLS certificate/.test(server.output()); i += 1) await delay(50);
  assert.match(server.output(), /reloaded the TLS certificate/);
  const second = await tlsConnect(server.port);
  assert.equal(second.cn, 'cert-b');
  assert.match(await healthOver(first.socket), / 200 /, 'the connection opened before SIGHUP still works');

  // A broken pair on SIGHUP keeps the current certificate.
  writeFileSync(keyFile, 'not a key');
  server.proc.kill('SIGHUP');
  for (let i = 0; i < 100 && !/keeping the current TLS certificate/.test(server.output()); i += 1) await delay(50);
  assert.match(server.output(), /keeping the current TLS certificate/);
  const third = await tlsConnect(server.port);
  assert.equal(third.cn, 'cert-b');

  // TLS 1.1 is refused.
  await assert.rejects(
    withTimeout(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, resolve);
        s.once('error', reject);
      }),
      5000,
      'TLS 1.1 connect',
    ),
  );
  for (const c of [first, second, third]) c.socket.destroy();
  await server.stop();
});

test('plain HTTP and garbage on the TLS port close that socket only, at once and without an HTTP answer', async () => {
  const dir = makeTmpDir('plain-');
  const a = makeCertificate(dir, 'a', 'cert-a');
  // A long handshake timeout: a socket closed within the few seconds below was closed because its
  // bytes are not TLS, not because the server gave up waiting.
  const server = await startServer({ args: ['--tls-cert-file', a.cert, '--tls-key-file', a.key, '--handshake-timeout-ms', '60000'] });
  for (const bytes of ['GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n', '\x16\x03\x01\x00\x05garbagegarbage']) {
    const label = JSON.stringify(bytes);
    const { how, data } = await withTimeout(
      new Promise((resolve) => {
        let received = Buffer.alloc(0);
        const s = net.connect(server.port, '127.0.0.1', () => s.write(bytes, 'latin1'));
        s.on('data', (d) => (received = Buffer.concat([received, d])));
        // ECONNRESET is a close too (the server may reset a socket whose input it did not read).
        s.on('error', (err) => resolve({ how: err.code, data: received }));
        s.on('close', () => resolve({ how: 'closed', data: received }));
      }),
      5000,
      `the server closing a non-TLS connection (${label})`,
    );
    assert.ok(how === 'closed' || how === 'ECONNRESET', `${label}: ${how}`);
    // Nothing but a TLS alert record (content type 21) may come back: never plain HTTP.
    assert.ok(data.length === 0 || data[0] === 0x15, `${label}: answered ${JSON.stringify(data.toString('latin1'))}`);
  }
  const ok = await tlsConnect(server.port);
  assert.match(await healthOver(ok.socket), / 200 /);
  ok.socket.destroy();
  await server.stop();
});

test('TLS settings are checked at start', async () => {
  await assert.rejects(startServer({ args: ['--tls-cert-file', '/nonexistent.pem', '--tls-key-file', '/nonexistent.pem'], readyTimeoutMs: 5000 }), /tls-cert-file|tlsCertFile/);
  await assert.rejects(startServer({ args: ['--tls-cert-file', '/etc/hostname'], readyTimeoutMs: 5000 }), /go together/);
});

test('WebSocket over TLS: pings answered, a client close echoed, a server close (REST) delivered, large messages both ways', async () => {
  const dir = makeTmpDir('selfsigned-ws-');
  const server = await startServer({ args: ['--tls-self-signed', '--tls-self-signed-dir', dir] });
  const { default: WebSocket } = await import('ws');
  const { clientToken, JSON_PROTOCOL } = await import('./harness.mjs');
  const { restToken } = await import('./rest-helpers.mjs');
  const https = await import('node:https');
  // REST over https to the self-signed server (the SDK would need NODE_EXTRA_CA_CERTS at start).
  const closeConnection = (id, reason) => {
    const url = `https://localhost:${server.port}/api/hubs/tlsws/connections/${id}?api-version=2024-12-01&reason=${encodeURIComponent(reason)}`;
    const headers = { Authorization: `Bearer ${restToken(url, server.key)}` };
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method: 'DELETE', headers, rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
  };
  const open = (userId) => {
    const token = clientToken({ port: server.port, hub: 'tlsws', key: server.key, userId, roles: ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'], aud: `https://localhost:${server.port}/client/hubs/tlsws` });
    const ws = new WebSocket(`wss://localhost:${server.port}/client/hubs/tlsws?access_token=${token}`, [JSON_PROTOCOL], { rejectUnauthorized: false });
    const messages = [];
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    return { ws, messages, opened: new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }) };
  };
  const waitFor = async (pred, label) => {
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      if (pred()) return;
      await delay(10);
    }
    assert.fail(`timed out waiting for ${label}`);
  };

  const a = open('a');
  await a.opened;
  await waitFor(() => a.messages.some((m) => m.event === 'connected'), 'connected');
  const pong = new Promise((res) => a.ws.once('pong', (d) => res(d.toString())));
  a.ws.ping('tls-ping');
  assert.equal(await withTimeout(pong, 5000, 'pong'), 'tls-ping');
  // 300 KB through the TLS stream (several TLS records and reads), echoed back through the group.
  const big = 'x'.repeat(300 * 1024);
  a.ws.send(JSON.stringify({ type: 'joinGroup', group: 'g', ackId: 1 }));
  await waitFor(() => a.messages.some((m) => m.type === 'ack' && m.ackId === 1), 'join ack');
  a.ws.send(JSON.stringify({ type: 'sendToGroup', group: 'g', dataType: 'text', data: big, ackId: 2 }));
  await waitFor(() => a.messages.some((m) => m.type === 'message' && m.data === big), 'the 300 KB message back');
  const closedA = new Promise((res) => a.ws.once('close', (code) => res(code)));
  a.ws.close(4001, 'bye');
  assert.equal(await withTimeout(closedA, 5000, 'close echo'), 4001);

  const b = open('b');
  await b.opened;
  await waitFor(() => b.messages.some((m) => m.event === 'connected'), 'connected');
  const id = b.messages.find((m) => m.event === 'connected').connectionId;
  const closedB = new Promise((res) => b.ws.once('close', (code, reason) => res({ code, reason: reason.toString() })));
  assert.equal(await closeConnection(id, 'over tls'), 204);
  const closeB = await withTimeout(closedB, 5000, 'server close');
  assert.equal(closeB.code, 1000);
  assert.equal(closeB.reason, 'over tls');
  assert.ok(b.messages.some((m) => m.event === 'disconnected' && m.message === 'over tls'));
  await server.stop();
});

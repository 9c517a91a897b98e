// https:// event handlers (issue 4, item 8): the server calls a handler over TLS, verifying its
// certificate and host name, through a keep-alive connection pool. The handler is the real
// @azure/web-pubsub-express middleware behind node's https server, with a throwaway self-signed
// certificate made by the openssl CLI; the server trusts it through --event-handler-ca-file.
// Without that file the certificate is untrusted: the connect event fails (500 to the client)
// and the log says why.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import express from 'express';
import { WebPubSubEventHandler } from '@azure/web-pubsub-express';
import { startServer, stopAll, makeTmpDir, simpleClient, clientToken, clientUrl, expectRefused, delay } from './harness.mjs';
import { hubConfig } from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function makeCertificate(san = 'IP:127.0.0.1,DNS:localhost', cn = 'localhost') {
  const dir = makeTmpDir('tls-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: 'ignore' });
  return { key, cert };
}

async function startHttpsHandler(hub, { key, cert }) {
  const seen = { connect: 0, messages: [], sockets: new Set() };
  const app = express();
  app.use(
    new WebPubSubEventHandler(hub, {
      handleConnect: (req, res) => {
        seen.connect += 1;
        res.success({ userId: 'tls-user' });
      },
      handleUserEvent: (req, res) => {
        seen.messages.push(req.data);
        res.success(`echo: ${req.data}`, 'text');
      },
    }).getMiddleware(),
  );
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, app);
  server.on('secureConnection', (socket) => seen.sockets.add(socket));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `https://127.0.0.1:${server.address().port}`;
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return { seen, urlTemplate: `${base}/api/webpubsub/hubs/{hub}/` };
}

test('an https:// handler with a certificate trusted by --event-handler-ca-file: connect and user events over one kept-alive TLS connection', async () => {
  const hub = 'tlshandler';
  const cert = makeCertificate();
  const handler = await startHttpsHandler(hub, cert);
  const server = await startServer({
    config: hubConfig(hub, handler.urlTemplate, { systemEvents: ['connect'] }),
    args: ['--event-handler-ca-file', cert.cert],
  });
  cleanups.push(() => stopAll(server));
  const c = await simpleClient(server, hub);
  assert.equal(handler.seen.connect, 1);
  for (let i = 0; i < 20; i += 1) {
    c.send(`hi ${i}`);
    const reply = await c.q.next(() => true, 5000, `echo ${i}`);
    assert.equal(reply.raw.toString('utf8'), `echo: hi ${i}`);
  }
  assert.equal(handler.seen.messages.length, 20);
  // validation, connect and 20 sequential user events: one kept-alive connection serves them
  assert.ok(handler.seen.sockets.size <= 2, `TLS connections opened: ${handler.seen.sockets.size}`);
  c.ws.close();
});

test('an https:// handler whose certificate is not trusted is never called: the client is refused with 500 and the log says why', async () => {
  const hub = 'tlsuntrusted';
  const cert = makeCertificate();
  const handler = await startHttpsHandler(hub, cert);
  const server = await startServer({ config: hubConfig(hub, handler.urlTemplate, { systemEvents: ['connect'] }) });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key });
  const status = await expectRefused(clientUrl(server.port, hub, token));
  assert.equal(status, 500);
  assert.equal(handler.seen.connect, 0);
  await delay(100);
  assert.match(server.output(), /certificate verify failed/i, server.output());
});

test('a trusted certificate for another host name is refused like an untrusted one', async () => {
  const hub = 'tlswrongname';
  const cert = makeCertificate('DNS:elsewhere.example', 'elsewhere.example');
  const handler = await startHttpsHandler(hub, cert);
  const server = await startServer({
    config: hubConfig(hub, handler.urlTemplate, { systemEvents: ['connect'] }),
    args: ['--event-handler-ca-file', cert.cert],
  });
  cleanups.push(() => stopAll(server));
  const token = clientToken({ port: server.port, hub, key: server.key });
  assert.equal(await expectRefused(clientUrl(server.port, hub, token)), 500);
  assert.equal(handler.seen.connect, 0);
  await delay(100);
  assert.match(server.output(), /TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed/i, server.output());
});

test('--event-handler-ca-file naming a missing file stops the server naming the setting', async () => {
  await assert.rejects(
    startServer({ args: ['--event-handler-ca-file', '/nonexistent/ca.pem'], readyTimeoutMs: 5000 }),
    /event-handler-ca-file|eventHandlerCaFile/,
  );
});

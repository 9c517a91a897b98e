// The JavaScript client samples of how-to-connect.md, run as written: each sample file in
// ../samples/ is the document's code block verbatim; the test substitutes only
// {Client_Access_URL} (minted with @azure/web-pubsub's getClientAccessToken) and runs it as a
// separate node process, asserting on its stdout.
//
// The samples `console.log(msg)` where msg is what `ws` delivers. With ws 8 (what `npm install ws`
// installs today) that is a Buffer, printed as `<Buffer 7b 22 ...>`, truncated after
// buffer.INSPECT_MAX_BYTES (50) bytes. The child is therefore started with a preload that only
// raises INSPECT_MAX_BYTES, so the printed Buffer holds every byte, and the test decodes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, makeTmpDir, INTEGRATION_DIR, jsonClient, closeAll, delay, withTimeout } from './harness.mjs';

const SAMPLES = path.join(INTEGRATION_DIR, 'samples');
let server;
const children = [];
const clients = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  closeAll(...clients);
  if (server) await server.stop();
});

function runSample(name, url) {
  const source = readFileSync(path.join(SAMPLES, name), 'utf8');
  assert.ok(source.includes('{Client_Access_URL}'), 'sample has the URL placeholder');
  const dir = makeTmpDir('sample-');
  const file = path.join(dir, name);
  writeFileSync(file, source.split('{Client_Access_URL}').join(url));
  const preload = path.join(dir, 'full-buffer-inspect.cjs');
  writeFileSync(preload, "require('buffer').INSPECT_MAX_BYTES = Infinity;\n");
  const child = spawn(process.execPath, ['-r', preload, file], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const run = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (run.stdout += d));
  child.stderr.on('data', (d) => (run.stderr += d));
  run.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return run;
}

/** Decodes the sample's console.log lines: `<Buffer xx xx ...>` -> { bytes, text, json? }. */
function decodeLines(stdout) {
  const out = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const m = /^<Buffer((?: [0-9a-f]{2})*)>$/.exec(line.trim());
    const bytes = m ? Buffer.from(m[1].replace(/ /g, ''), 'hex') : Buffer.from(line, 'utf8');
    const item = { line, bytes, text: bytes.toString('utf8') };
    try {
      item.json = JSON.parse(item.text);
    } catch {
      /* not JSON */
    }
    out.push(item);
  }
  return out;
}

async function waitForOutput(run, pred, timeoutMs, label) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const lines = decodeLines(run.stdout);
    if (pred(lines)) return lines;
    if (run.child.exitCode !== null) break;
    await delay(50);
  }
  throw new Error(
    `sample did not print ${label} within ${timeoutMs} ms (exit ${run.child.exitCode})\n` +
      `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
  );
}

test('JavaScript simple WebSocket client sample prints what is published to it', async () => {
  const service = new WebPubSubServiceClient(server.connectionString, 'samples', { allowInsecureConnection: true });
  const { url } = await service.getClientAccessToken({ groups: ['simple-sample'] });
  const run = runSample('js-simple-client.js', url);
  const pub = await jsonClient(server, 'samples', { roles: ['webpubsub.sendToGroup'] });
  clients.push(pub);

  // The sample prints nothing on connect; publish probes until the first one shows up.
  let n = 0;
  const probing = (async () => {
    while (run.child.exitCode === null && !decodeLines(run.stdout).some((l) => l.text.startsWith('probe '))) {
      pub.send({ type: 'sendToGroup', group: 'simple-sample', dataType: 'text', data: `probe ${++n}` });
      await delay(200);
    }
  })();
  await waitForOutput(run, (ls) => ls.some((l) => l.text.startsWith('probe ')), 10000, 'a probe message');
  await withTimeout(probing, 2000, 'probe loop end');

  const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
  pub.send({ type: 'sendToGroup', group: 'simple-sample', dataType: 'text', data: 'Hello world from the test' });
  pub.send({ type: 'sendToGroup', group: 'simple-sample', dataType: 'json', data: { msg1: 'Hello world' } });
  pub.send({ type: 'sendToGroup', group: 'simple-sample', dataType: 'binary', data: bytes.toString('base64') });
  const lines = await waitForOutput(run, (ls) => ls.filter((l) => !l.text.startsWith('probe ')).length >= 3, 10000, 'three messages');
  const rest = lines.filter((l) => !l.text.startsWith('probe '));
  // a simple client gets the raw payloads, no system messages or envelopes
  assert.equal(rest[0].text, 'Hello world from the test');
  assert.deepEqual(rest[0].json ?? null, null);
  assert.deepEqual(rest[1].json, { msg1: 'Hello world' });
  assert.deepEqual(rest[2].bytes, bytes);
  for (const l of lines) assert.notEqual(l.json?.type, 'system', `simple client got a system message: ${l.text}`);
  assert.equal(run.stderr, '');
  run.child.kill('SIGTERM');
  await withTimeout(run.exited, 5000, 'sample exit');
});

test('JavaScript PubSub client sample: subscriber prints the group message with "Hello world"', async () => {
  const service = new WebPubSubServiceClient(server.connectionString, 'samples', { allowInsecureConnection: true });
  const { url } = await service.getClientAccessToken({
    roles: ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'],
  });
  const run = runSample('js-pubsub-client.js', url);
  const lines = await waitForOutput(
    run,
    (ls) => ls.some((l) => l.json?.type === 'message' && l.json?.data?.msg1 === 'Hello world'),
    10000,
    'the "Hello world" group message',
  );
  const json = lines.map((l) => l.json);
  assert.equal(json.filter((m) => m?.type === 'system' && m.event === 'connected').length, 2, run.stdout);
  assert.ok(json.some((m) => m?.type === 'ack' && m.ackId === 1 && m.success === true), 'subscriber printed its join ack');
  const msg = json.find((m) => m?.type === 'message');
  assert.deepEqual(msg, {
    type: 'message',
    from: 'group',
    group: 'group1',
    fromUserId: null,
    dataType: 'json',
    data: { msg1: 'Hello world' },
  });
  assert.ok(
    lines.findIndex((l) => l.json?.type === 'ack') < lines.findIndex((l) => l.json?.type === 'message'),
    'ack printed before the group message',
  );
  assert.equal(run.stderr, '');
  run.child.kill('SIGTERM');
  await withTimeout(run.exited, 5000, 'sample exit');
});

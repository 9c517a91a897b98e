// The JavaScript server sample of how-to-connect.md ("Connect server to Azure Web PubSub") run
// against the server as a child process (issue 3 acceptance): samples/server-js-sdk.js with only
// {ConnectionString} filled in (its adaptations are listed in the file). A connected JSON client
// and a simple client of hub 'chat' must receive both broadcasts, and the client access URL the
// sample minted with getClientAccessToken must connect as its user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, makeTmpDir, INTEGRATION_DIR, closeAll, withTimeout, openSocket, JSON_PROTOCOL } from './harness.mjs';
import { startServerOrCluster, portPattern } from './cluster-harness.mjs';
import { trackedJson, trackedSimple, nextData } from './rest-helpers.mjs';

let server;
const clients = [];
const children = [];

before(async () => {
  server = await startServerOrCluster();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  closeAll(...clients);
  if (server) await server.stop();
});

function runSample(name, substitutions) {
  let source = readFileSync(path.join(INTEGRATION_DIR, 'samples', name), 'utf8');
  for (const [k, v] of Object.entries(substitutions)) {
    assert.ok(source.includes(k), `sample ${name} has the placeholder ${k}`);
    source = source.split(k).join(v);
  }
  const dir = makeTmpDir('server-sample-');
  const file = path.join(dir, name);
  writeFileSync(file, source);
  const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const run = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (run.stdout += d));
  child.stderr.on('data', (d) => (run.stderr += d));
  run.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return run;
}

test('JavaScript server sample: getClientAccessToken, sendToAll "Hello" (text/plain) and {"hello":"world"}', async () => {
  const a = await trackedJson(clients, server, 'chat', { userId: 'listener' });
  const s = await trackedSimple(clients, server, 'chat', {});
  const run = runSample('server-js-sdk.js', { '{ConnectionString}': server.connectionString });
  const code = await withTimeout(run.exited, 15000, 'server sample exit');
  assert.equal(code, 0, `sample failed:\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  assert.equal(run.stderr, '');

  assert.deepEqual(await nextData(a), { type: 'message', from: 'server', dataType: 'text', data: 'Hello' });
  assert.deepEqual(await nextData(a), { type: 'message', from: 'server', dataType: 'json', data: { hello: 'world' } });
  const f1 = await s.q.next(() => true, 5000, 'simple frame 1');
  assert.equal(f1.isBinary, false);
  assert.equal(f1.text, 'Hello');
  const f2 = await s.q.next(() => true, 5000, 'simple frame 2');
  assert.deepEqual(JSON.parse(f2.text), { hello: 'world' });

  const url = run.stdout.trim().split('\n')[0];
  assert.match(url, new RegExp(`^ws://localhost:${portPattern(server)}/client/hubs/chat\\?access_token=`));
  const { ws, q } = await openSocket(url, { protocols: [JSON_PROTOCOL] });
  clients.push({ ws });
  const connected = await q.nextJson((m) => m.type === 'system' && m.event === 'connected');
  assert.equal(connected.userId, 'sample-user');
});

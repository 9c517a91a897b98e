// Java javax.websocket (JSR 356) clients against the server: ../java/SimpleClient.java (the
// how-to-connect simple-client sample in Java) and ../java/JsonClient.java (PubSub client),
// compiled with javac against Debian's Jetty 9 implementation (libjetty9-extra-java and the jars
// listed in ../java/jars.txt, all in /usr/share/java). No Maven.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, makeTmpDir, INTEGRATION_DIR, jsonClient, closeAll, delay } from './harness.mjs';

const JAVA_DIR = path.join(INTEGRATION_DIR, 'java');
const JAR_DIR = process.env.WPS_JAVA_JAR_DIR || '/usr/share/java';
let server;
let classDir;
let classpath;
const children = [];
const clients = [];

before(async () => {
  const jars = readFileSync(path.join(JAVA_DIR, 'jars.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((j) => path.join(JAR_DIR, j));
  const missing = jars.filter((j) => !existsSync(j));
  assert.deepEqual(missing, [], 'Debian jars missing: install the packages of scripts/apt-packages.txt');
  classDir = makeTmpDir('java-');
  const javac = spawnSync(
    'javac',
    ['-cp', jars.join(':'), '-d', classDir, path.join(JAVA_DIR, 'SimpleClient.java'), path.join(JAVA_DIR, 'JsonClient.java')],
    { encoding: 'utf8', timeout: 60000 },
  );
  assert.equal(javac.status, 0, `javac failed: ${javac.error ?? ''}\n${javac.stdout}\n${javac.stderr}`);
  classpath = [classDir, ...jars].join(':');
  server = await startServer();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  closeAll(...clients);
  if (server) await server.stop();
});

function runJava(mainClass, args) {
  const child = spawn('java', ['-cp', classpath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const run = { child, stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (run.stdout += d));
  child.stderr.on('data', (d) => (run.stderr += d));
  run.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  run.waitFor = async (pred, timeoutMs, label) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const lines = run.stdout.split('\n');
      if (pred(lines)) return lines;
      if (child.exitCode !== null) break;
      await delay(50);
    }
    throw new Error(
      `java ${mainClass} did not print ${label} within ${timeoutMs} ms (exit ${child.exitCode})\n` +
        `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  };
  return run;
}

test('Java simple client (javax.websocket) connects and prints a message published to its token group', async () => {
  const service = new WebPubSubServiceClient(server.connectionString, 'java', { allowInsecureConnection: true });
  const { url } = await service.getClientAccessToken({ groups: ['java-group'] });
  const run = runJava('SimpleClient', [url]);
  await run.waitFor((ls) => ls.includes('Connected'), 20000, '"Connected"');

  const pub = await jsonClient(server, 'java', { userId: 'publisher', roles: ['webpubsub.sendToGroup'] });
  clients.push(pub);
  // "Connected" is printed from @OnOpen; publish probes until one is printed (a simple client
  // has no other signal that the server has put it in its token group)
  for (let n = 1; !run.stdout.includes('probe '); n++) {
    assert.equal(run.child.exitCode, null, `java exited\n${run.stdout}\n${run.stderr}`);
    assert.ok(n < 100, `no probe printed\n${run.stdout}\n${run.stderr}`);
    pub.send({ type: 'sendToGroup', group: 'java-group', dataType: 'text', data: `probe ${n}` });
    await delay(100);
  }
  await delay(300);
  pub.send({ type: 'sendToGroup', group: 'java-group', dataType: 'text', data: 'Hello Java from the test', ackId: 1 });
  assert.equal((await pub.q.ack(1)).success, true);
  pub.send({ type: 'sendToGroup', group: 'java-group', dataType: 'json', data: { hello: 'java' }, ackId: 2 });
  assert.equal((await pub.q.ack(2)).success, true);
  const lines = await run.waitFor((ls) => ls.some((l) => l.includes('"hello"')), 10000, 'the JSON message');
  assert.equal(lines[0], 'Connected');
  const afterConnected = lines.slice(1).filter((l) => l !== '' && !l.startsWith('probe '));
  // exactly the published payloads, raw: no system message, no envelope
  assert.equal(afterConnected[0], 'Hello Java from the test');
  assert.deepEqual(JSON.parse(afterConnected[1]), { hello: 'java' });

  run.child.kill('SIGKILL');
});

test('Java JSON-protocol client: subprotocol, connected, join ack, publishes to a ws subscriber', async () => {
  const service = new WebPubSubServiceClient(server.connectionString, 'java', { allowInsecureConnection: true });
  const { url } = await service.getClientAccessToken({
    userId: 'java-user',
    roles: ['webpubsub.joinLeaveGroup.jg', 'webpubsub.sendToGroup.jg'],
  });
  const sub = await jsonClient(server, 'java', { groups: ['jg'] });
  clients.push(sub);
  const run = runJava('JsonClient', [url, 'jg']);
  const lines = await run.waitFor(
    (ls) => ls.some((l) => l.includes('Hello world from Java') && l.includes('"group"')),
    20000,
    'its own group message',
  );
  assert.equal(lines[0], 'Connected json.webpubsub.azure.v1');
  const json = lines.slice(1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.equal(json[0].type, 'system');
  assert.equal(json[0].event, 'connected');
  assert.equal(json[0].userId, 'java-user');
  assert.ok(json.some((m) => m.type === 'ack' && m.ackId === 1 && m.success === true));
  const m = await sub.q.groupMessage('jg', 5000);
  assert.equal(m.data, 'Hello world from Java');
  assert.equal(m.fromUserId, 'java-user');
  assert.equal(m.dataType, 'text');
  run.child.kill('SIGKILL');
});

// Microsoft's Web PubSub emulator's settings file read as is (issue 18, item 4; spec
// microsoft-emulator.md §3): the appsettings.json examples of the emulator's README, copied
// verbatim except the event handler's port (the test's handler listens on a free one), drive the
// event-handler samples unchanged: the how-to-connect Python client and an
// @azure/web-pubsub-express app. Event handlers reload when the file is saved, as our own format's
// do; keys we do not support stop the server at startup with the key named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { startServer, stopAll, jsonClient, closeAll, delay, makeTmpDir, withTimeout, INTEGRATION_DIR, SERVER_BIN } from './harness.mjs';
import { startExpressHandler } from './webhook-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopAll();
});

// "HTTP lifecycle notifications" in the emulator's README.
const README_LIFECYCLE = `{
  "WebPubSub": {
    "Hubs": {
      "chat": {
        "EventHandlers": [{
          "UrlTemplate": "http://localhost:7071/events/{hub}/{event}",
          "SystemEvents": ["connect", "connected", "disconnected"],
          "EventPattern": "*"
        }]
      }
    }
  }
}
`;

// "Quick start", step 2, in the emulator's README (the chat sample's handler).
const README_QUICK_START = `{
  "WebPubSub": {
    "Hubs": {
      "sample_chat": {
        "EventHandlers": [{
          "UrlTemplate": "http://localhost:8080/eventhandler",
          "SystemEvents": ["connected"],
          "EventPattern": "broadcast"
        }]
      }
    }
  }
}
`;

function writeSettings(text) {
  const file = path.join(makeTmpDir('appsettings-'), 'appsettings.json');
  writeFileSync(file, text);
  return file;
}

function run(cmd, args, { input, timeoutMs = 20000 } = {}) {
  let child;
  return withTimeout(
    new Promise((resolve) => {
      child = spawn(cmd, args, { cwd: INTEGRATION_DIR, env: { ...process.env, PYTHONWARNINGS: 'ignore::DeprecationWarning' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input ?? '');
    }),
    timeoutMs,
    `${cmd} ${args.join(' ').slice(0, 60)}`,
  ).catch((err) => {
    child.kill('SIGKILL'); // a process that hangs must not outlive the test
    throw err;
  });
}

test("the emulator README's appsettings.json: the Python how-to-connect sample gets its greeting from an express handler", async () => {
  const handler = await startExpressHandler('chat', {
    path: '/events/chat/',
    handleUserEvent: (req, res) => res.success(`Hello, ${req.data}!`, 'text'),
  });
  cleanups.push(handler.close);
  const file = writeSettings(README_LIFECYCLE.replace('localhost:7071', `localhost:${handler.port}`));
  const server = await startServer({ args: ['--config', file] });
  cleanups.push(() => stopAll(server));
  for (const end = Date.now() + 3000; Date.now() < end && !/Web PubSub emulator/.test(server.output()); ) await delay(20);
  assert.match(server.output(), /read .*appsettings\.json in the format of Microsoft's Web PubSub emulator/);

  const service = new WebPubSubServiceClient(server.connectionString, 'chat', { allowInsecureConnection: true });
  const { url } = await service.getClientAccessToken({ userId: 'python-sample' });
  const source = readFileSync(path.join(INTEGRATION_DIR, 'samples', 'python-simple-client.py'), 'utf8');
  assert.equal(source.split("'Client_Access_URL'").length, 2, 'the sample has its placeholder once');
  const sample = path.join(makeTmpDir('py-sample-'), 'python-simple-client.py');
  writeFileSync(sample, source.replace('Client_Access_URL', url));
  const py = await run('/usr/bin/python3', [sample], { input: 'Ada Lovelace\n' });
  const details = `exit ${py.code}\n${py.stdout}\n${py.stderr}\n${server.output()}`;
  assert.equal(py.code, 0, details);
  assert.ok(py.stdout.split('\n').includes('< Hello, Ada Lovelace!'), details);

  // Every system event of the README's list reached the handler, at /events/chat/<event>.
  await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected event');
  const paths = handler.requests.items.filter((r) => r.method === 'POST').map((r) => r.url);
  for (const event of ['connect', 'connected', 'message', 'disconnected']) {
    assert.ok(paths.includes(`/events/chat/${event}`), `POST /events/chat/${event} in ${paths}`);
  }
});

test("the emulator README's quick-start appsettings.json: EventPattern selects the user event, SystemEvents the system ones", async () => {
  const hub = 'sample_chat';
  const handler = await startExpressHandler(hub, {
    path: '/eventhandler',
    handleUserEvent: (req, res) => res.success(`broadcast: ${req.data}`, 'text'),
  });
  cleanups.push(handler.close);
  const file = writeSettings(README_QUICK_START.replace('localhost:8080', `localhost:${handler.port}`));
  const server = await startServer({ args: ['--emulator-config', file] });
  cleanups.push(() => stopAll(server));
  const c = await jsonClient(server, hub, { userId: 'quick' });
  try {
    await handler.events.wait((e) => e.kind === 'connected', 5000, 'connected event');
    c.send({ type: 'event', event: 'broadcast', dataType: 'text', data: 'hi', ackId: 1 });
    assert.equal((await c.q.ack(1)).success, true);
    assert.equal((await c.q.nextJson((m) => m.type === 'message', 5000, 'handler reply')).data, 'broadcast: hi');
    // Not in EventPattern: no handler, so the event fails; connect is not in SystemEvents.
    c.send({ type: 'event', event: 'other', dataType: 'text', data: 'x', ackId: 2 });
    assert.equal((await c.q.ack(2)).success, false);
    assert.equal(handler.events.items.filter((e) => e.kind === 'connect').length, 0);
    assert.equal(handler.events.items.filter((e) => e.kind === 'user').length, 1);
  } finally {
    closeAll(c);
  }
});

test('emulator format: EventHandlers reload when the file is saved; an unsupported key in an edit is ignored with a warning', async () => {
  const hub = 'chat';
  const a = await startExpressHandler(hub, { path: '/a/chat/', handleConnect: (req, res) => res.success({ userId: 'from-a' }) });
  const b = await startExpressHandler(hub, { path: '/b/chat/', handleConnect: (req, res) => res.success({ userId: 'from-b' }) });
  cleanups.push(a.close, b.close);
  const settings = (port, prefix, extra = '') => `{
    "Urls": "http://localhost:8080",
    "Logging": { "LogLevel": { "Default": "Information", "Microsoft.AspNetCore": "Warning" } },
    "WebPubSub": { "Hubs": { "chat": { ${extra}
      "EventHandlers": [ { "UrlTemplate": "http://localhost:${port}/${prefix}/{hub}/{event}", "SystemEvents": ["connect"] } ] } } }
  }`;
  const file = writeSettings(settings(a.port, 'a'));
  // (The harness's --port 0 overrides Urls: flags beat the file, as the emulator's --urls does.)
  const server = await startServer({ args: ['--config', file] });
  cleanups.push(() => stopAll(server));

  const userOf = async () => {
    const c = await jsonClient(server, hub, { userId: 'token-user' });
    closeAll(c);
    return c.connected.userId;
  };
  assert.equal(await userOf(), 'from-a');

  await delay(50); // a different mtime even on coarse clocks
  writeFileSync(file, settings(b.port, 'b'));
  let userId;
  for (const end = Date.now() + 6000; Date.now() < end; await delay(250)) {
    userId = await userOf();
    if (userId === 'from-b') break;
    assert.equal(userId, 'from-a');
  }
  assert.equal(userId, 'from-b', `the reloaded handler was not used within 6 s:\n${server.output()}`);
  assert.match(server.output(), /reloaded event handlers from/);

  // An edit with a key we do not support is refused by name, and the last good handlers stay.
  await delay(50);
  writeFileSync(file, settings(a.port, 'a', '"EventListeners": [],'));
  for (const end = Date.now() + 6000; Date.now() < end && !/config change ignored/.test(server.output()); ) await delay(100);
  assert.match(server.output(), /config change ignored: .*WebPubSub:Hubs:chat:EventListeners.*not supported/);
  assert.equal(await userOf(), 'from-b');
});

test('emulator format: unsupported keys stop the server at startup with the key named', async () => {
  const cases = [
    [
      `{"WebPubSub": {"Hubs": {"chat": {"EventListeners": [{"EventNameFilter": {"SystemEvents": ["connected"], "UserEventPattern": "*"},
        "EventHubEndpoint": {"FullyQualifiedNamespace": "ns.servicebus.windows.net", "EventHubName": "hub"}}]}}}}`,
      /WebPubSub:Hubs:chat:EventListeners: Event Hubs listeners are not supported/,
    ],
    [
      `{"WebPubSub": {"Hubs": {"chat": {"EventHandlers": [{"UrlTemplate": "http://localhost:7071/api/{event}",
        "Auth": {"Type": "ManagedIdentity", "Resource": "api://x"}}]}}}}`,
      /WebPubSub:Hubs:chat:EventHandlers:0:Auth: outbound event-handler authentication is not supported/,
    ],
  ];
  for (const [json, expected] of cases) {
    const file = writeSettings(json);
    const r = await run(SERVER_BIN, ['--port', '0', '--config', file], { timeoutMs: 10000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, expected);
  }
});

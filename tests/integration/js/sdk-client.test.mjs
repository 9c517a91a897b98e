// The official SDKs: @azure/web-pubsub (server SDK, mints the Client Access URL from the printed
// connection string) and @azure/web-pubsub-client with WebPubSubJsonProtocol()
// (json.webpubsub.azure.v1; the default reliable protocol is a later issue).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient, WebPubSubJsonProtocol } from '@azure/web-pubsub-client';
import { startServer, withTimeout, delay } from './harness.mjs';

const HUB = 'sdk';
let server;
let service;
const started = [];

before(async () => {
  server = await startServer();
  service = new WebPubSubServiceClient(server.connectionString, HUB, { allowInsecureConnection: true });
});

after(async () => {
  for (const c of started) {
    try {
      c.stop();
    } catch {
      /* ignore */
    }
  }
  await delay(100);
  if (server) await server.stop();
});

/** Creates and starts a client; records connected info and every group message. */
async function sdkClient(tokenOptions = {}, clientOptions = {}) {
  const { url } = await service.getClientAccessToken(tokenOptions);
  assert.match(url, new RegExp(`^ws://localhost:${server.port}/client/hubs/${HUB}\\?access_token=`));
  const client = new WebPubSubClient(url, {
    protocol: WebPubSubJsonProtocol(),
    autoReconnect: false,
    autoRejoinGroups: false,
    messageRetryOptions: { maxRetries: 0 },
    // The SDK's keep-alive loops sleep uninterruptibly (interval, and timeout/3) even after
    // stop(); short values let this process exit promptly. They also make every client here
    // depend on the server answering its pings: without a message for 1.5 s it closes itself.
    keepAliveIntervalInMs: 300,
    keepAliveTimeoutInMs: 1500,
    ...clientOptions,
  });
  const received = [];
  const waiters = [];
  let connectedInfo;
  const disconnects = [];
  client.on('disconnected', (e) => disconnects.push(e));
  const connected = new Promise((resolve) => {
    client.on('connected', (e) => {
      connectedInfo = e;
      resolve(e);
    });
  });
  client.on('group-message', (e) => {
    received.push(e.message);
    for (const w of [...waiters]) w();
  });
  started.push(client);
  await withTimeout(client.start(), 5000, 'WebPubSubClient.start()');
  await withTimeout(connected, 5000, 'connected event');
  return {
    client,
    received,
    disconnects,
    get connectedInfo() {
      return connectedInfo;
    },
    /** Waits for a group message matching pred, consuming it. */
    next(pred = () => true, timeoutMs = 5000) {
      return withTimeout(
        new Promise((resolve) => {
          const check = () => {
            const i = received.findIndex(pred);
            if (i >= 0) {
              const [m] = received.splice(i, 1);
              waiters.splice(waiters.indexOf(check), 1);
              resolve(m);
            }
          };
          waiters.push(check);
          check();
        }),
        timeoutMs,
        'group-message',
      );
    },
    async expectNothing(ms = 400) {
      await delay(ms);
      assert.deepEqual(received, [], 'expected no group message');
    },
  };
}

const ALL = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];

test('connect: connected event carries connectionId and the userId from the token', async () => {
  const a = await sdkClient({ userId: 'alice' });
  assert.equal(a.connectedInfo.userId, 'alice');
  assert.equal(typeof a.connectedInfo.connectionId, 'string');
  assert.ok(a.connectedInfo.connectionId.length > 0);
});

test('joinGroup, sendToGroup received by another client, leaveGroup', async () => {
  const sub = await sdkClient({ userId: 'sub', roles: ALL });
  const pub = await sdkClient({ userId: 'pub', roles: ALL });
  const j = await sub.client.joinGroup('room');
  assert.equal(typeof j.ackId, 'number');
  assert.equal(j.isDuplicated, false);

  const r = await pub.client.sendToGroup('room', 'hello room', 'text');
  assert.equal(r.isDuplicated, false);
  let m = await sub.next((x) => x.group === 'room');
  assert.equal(m.data, 'hello room');
  assert.equal(m.dataType, 'text');
  assert.equal(m.fromUserId, 'pub');

  await pub.client.sendToGroup('room', { nested: [1, 'two'] }, 'json');
  m = await sub.next((x) => x.group === 'room');
  assert.deepEqual(m.data, { nested: [1, 'two'] });
  assert.equal(m.dataType, 'json');

  const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
  await pub.client.sendToGroup('room', bytes.buffer, 'binary');
  m = await sub.next((x) => x.group === 'room');
  assert.equal(m.dataType, 'binary');
  assert.deepEqual(new Uint8Array(m.data), bytes);

  await sub.client.leaveGroup('room');
  await pub.client.sendToGroup('room', 'after leave', 'text');
  await sub.expectNothing();
  await pub.expectNothing(0);
});

test('noEcho: the sender (a member) does not receive its own message; without it, it does', async () => {
  const a = await sdkClient({ userId: 'a', roles: ALL });
  const b = await sdkClient({ userId: 'b', roles: ALL });
  await a.client.joinGroup('echo');
  await b.client.joinGroup('echo');
  await a.client.sendToGroup('echo', 'echoed', 'text');
  assert.equal((await a.next()).data, 'echoed');
  assert.equal((await b.next()).data, 'echoed');
  await a.client.sendToGroup('echo', 'not echoed', 'text', { noEcho: true });
  assert.equal((await b.next()).data, 'not echoed');
  await a.expectNothing();
});

test('acks: results resolve only after the service acked; fireAndForget also delivers', async () => {
  const a = await sdkClient({ roles: ALL });
  const b = await sdkClient({ groups: ['ff'] });
  const r1 = await a.client.joinGroup('acks');
  assert.equal(typeof r1.ackId, 'number');
  const r2 = await a.client.sendToGroup('acks', 'x', 'text');
  const r3 = await a.client.sendToGroup('ff', 'fire', 'text', { fireAndForget: true });
  assert.equal(r3.ackId, undefined);
  assert.equal((await b.next()).data, 'fire');
});

test('Duplicate: the same pinned ackId twice -> second result isDuplicated', async () => {
  const a = await sdkClient({ roles: ALL });
  const b = await sdkClient({ groups: ['dup'] });
  const first = await a.client.sendToGroup('dup', 'only once', 'text', { ackId: 4242 });
  assert.deepEqual(first, { ackId: 4242, isDuplicated: false });
  const second = await a.client.sendToGroup('dup', 'only once', 'text', { ackId: 4242 });
  assert.equal(second.ackId, 4242);
  assert.equal(second.isDuplicated, true);
  assert.equal((await b.next()).data, 'only once');
  await b.expectNothing();

  const j1 = await a.client.joinGroup('dupjoin', { ackId: 77 });
  assert.equal(j1.isDuplicated, false);
  const j2 = await a.client.joinGroup('dupjoin', { ackId: 77 });
  assert.equal(j2.isDuplicated, true);
});

test('Forbidden without roles: joinGroup and sendToGroup reject with SendMessageError', async () => {
  const a = await sdkClient({ userId: 'noroles' });
  await assert.rejects(a.client.joinGroup('locked'), (err) => {
    assert.equal(err.name, 'SendMessageError');
    assert.equal(err.errorDetail?.name, 'Forbidden');
    return true;
  });
  await assert.rejects(a.client.sendToGroup('locked', 'x', 'text'), (err) => {
    assert.equal(err.name, 'SendMessageError');
    assert.equal(err.errorDetail?.name, 'Forbidden');
    return true;
  });
  await assert.rejects(a.client.leaveGroup('locked'), (err) => err.errorDetail?.name === 'Forbidden');
  // the connection is still usable
  const b = await sdkClient({ groups: ['locked'], roles: ['webpubsub.sendToGroup'] });
  await b.client.sendToGroup('locked', 'still fine', 'text');
  assert.equal((await b.next()).data, 'still fine');
});

test('Forbidden with the SDK default retry policy still ends in SendMessageError', async () => {
  const a = await sdkClient({}, { messageRetryOptions: { maxRetries: 1, retryDelayInMs: 100 } });
  await assert.rejects(a.client.sendToGroup('locked', 'x', 'text'), (err) => err.errorDetail?.name === 'Forbidden');
});

test('scoped roles: webpubsub.joinLeaveGroup.<g> / webpubsub.sendToGroup.<g>', async () => {
  const a = await sdkClient({ roles: ['webpubsub.joinLeaveGroup.mine', 'webpubsub.sendToGroup.mine'] });
  await a.client.joinGroup('mine');
  await a.client.sendToGroup('mine', 'scoped', 'text');
  assert.equal((await a.next()).data, 'scoped');
  await assert.rejects(a.client.joinGroup('theirs'), (err) => err.errorDetail?.name === 'Forbidden');
  await assert.rejects(a.client.sendToGroup('theirs', 'x', 'text'), (err) => err.errorDetail?.name === 'Forbidden');
  await a.client.leaveGroup('mine');
});

test('wildcard roles through the SDK', async () => {
  const a = await sdkClient({ roles: ['webpubsub.joinLeaveGroups.team-*', 'webpubsub.sendToGroups.team-*'] });
  await a.client.joinGroup('team-red');
  await a.client.sendToGroup('team-red', 'wild', 'text');
  assert.equal((await a.next()).data, 'wild');
  await assert.rejects(a.client.joinGroup('team.red'), (err) => err.errorDetail?.name === 'Forbidden');
});

test('groups from the token (groups option of getClientAccessToken) receive without joining', async () => {
  const sub = await sdkClient({ userId: 'tg', groups: ['tok1', 'tok2'] });
  const pub = await sdkClient({ userId: 'pp', roles: ['webpubsub.sendToGroup'] });
  await pub.client.sendToGroup('tok1', 'one', 'text');
  await pub.client.sendToGroup('tok2', 'two', 'text');
  const m1 = await sub.next((x) => x.group === 'tok1');
  const m2 = await sub.next((x) => x.group === 'tok2');
  assert.equal(m1.data, 'one');
  assert.equal(m2.data, 'two');
  assert.equal(m1.fromUserId, 'pp');
});

test('getClientAccessToken with roles and userId, connecting twice with the same user', async () => {
  const a1 = await sdkClient({ userId: 'same', groups: ['u'] });
  const a2 = await sdkClient({ userId: 'same', groups: ['u'] });
  assert.notEqual(a1.connectedInfo.connectionId, a2.connectedInfo.connectionId);
  const pub = await sdkClient({ roles: ['webpubsub.sendToGroup.u'] });
  await pub.client.sendToGroup('u', 'both', 'text');
  assert.equal((await a1.next()).data, 'both');
  assert.equal((await a2.next()).data, 'both');
  // anonymous sender: fromUserId null/undefined
  const m = await sdkClient({ groups: ['u2'] });
  const pub2 = await sdkClient({ roles: ['webpubsub.sendToGroup'] });
  await pub2.client.sendToGroup('u2', 'anon', 'text');
  const got = await m.next();
  assert.equal(got.fromUserId ?? null, null);
});

test('sendEvent without an event handler rejects with InternalServerError; client stays connected', async () => {
  const a = await sdkClient({ roles: ALL });
  await assert.rejects(a.client.sendEvent('myevent', 'x', 'text'), (err) => err.errorDetail?.name === 'InternalServerError');
  await a.client.joinGroup('after-event');
});

test('keep-alive: pings are answered, the client stays connected past its 1.5 s idle timeout', async () => {
  const a = await sdkClient({ roles: ALL });
  await delay(2500);
  assert.deepEqual(a.disconnects, [], 'the client closed itself: no pong (or any message) within 1.5 s');
  await a.client.joinGroup('alive');
  await a.client.sendToGroup('alive', 'still here', 'text');
  assert.equal((await a.next()).data, 'still here');
});

test('stop(): the client stops cleanly', async () => {
  const a = await sdkClient({});
  const stopped = new Promise((resolve) => a.client.on('stopped', resolve));
  a.client.stop();
  await withTimeout(stopped, 5000, 'stopped event');
});

// Group presence events (issue 4, spec §8.8): a handler whose settings ask for
// groupPresenceEvents gets azure.webpubsub.gp.joined / .left CloudEvents, read by the real
// @azure/web-pubsub-express (onGroupJoined / onGroupLeft), for every way a connection joins or
// leaves a group: token groups at connect, the client's joinGroup/leaveGroup, REST add/remove
// (connection and user), and its disconnection. Per connection they arrive in order after
// `connected` and before `disconnected`. A handler that did not ask for them gets none.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  stopAll,
  jsonClient,
  closeAll,
  delay,
  clientToken,
  clientUrl,
  openSocket,
  RELIABLE_JSON_PROTOCOL,
} from './harness.mjs';
import { startExpressHandler, hubConfig, isEvent, signatureFor } from './webhook-helpers.mjs';
import { serviceClient } from './rest-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(hub, handlerOptions, presence, systemEvents = ['connected', 'disconnected']) {
  const handler = await startExpressHandler(hub, handlerOptions);
  cleanups.push(handler.close);
  const server = await startServer({
    config: hubConfig(hub, handler.urlTemplate, {
      systemEvents,
      groupPresenceEvents: presence,
    }),
  });
  cleanups.push(() => stopAll(server));
  return { handler, server };
}

// The events of one connection, in arrival order, as "kind:group" strings.
function eventsOf(handler, connectionId) {
  return handler.events.items
    .filter((e) => e.req.context?.connectionId === connectionId)
    .map((e) => (e.kind === 'joined' || e.kind === 'left' ? `${e.kind}:${e.req.group}` : e.kind));
}

test('joined/left for token groups, client join/leave, REST add/remove and disconnect, in order', async () => {
  const hub = 'gppresence';
  const { handler, server } = await setup(hub, {}, ['joined', 'left']);
  const service = serviceClient(server, hub);
  const c = await jsonClient(server, hub, {
    userId: 'pat',
    groups: ['lobby'],
    roles: ['webpubsub.joinLeaveGroup'],
  });
  const id = c.connected.connectionId;
  await handler.events.wait((e) => e.kind === 'joined' && e.req.group === 'lobby', 5000, 'joined lobby');

  c.send({ type: 'joinGroup', group: 'room1', ackId: 1 });
  await c.q.nextJson((m) => m.type === 'ack' && m.ackId === 1, 5000, 'join ack');
  c.send({ type: 'joinGroup', group: 'room1', ackId: 2 }); // already a member: no second event
  await c.q.nextJson((m) => m.type === 'ack' && m.ackId === 2, 5000, 'second join ack');
  await service.group('room2').addConnection(id);
  await service.group('room3').addUser('pat');
  await handler.events.wait((e) => e.kind === 'joined' && e.req.group === 'room3', 5000, 'joined room3');
  c.send({ type: 'leaveGroup', group: 'room1', ackId: 3 });
  await c.q.nextJson((m) => m.type === 'ack' && m.ackId === 3, 5000, 'leave ack');
  await service.group('room2').removeConnection(id);
  await handler.events.wait((e) => e.kind === 'left' && e.req.group === 'room2', 5000, 'left room2');

  c.ws.close(1000, 'bye');
  await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.deepEqual(eventsOf(handler, id), [
    'connected',
    'joined:lobby',
    'joined:room1',
    'joined:room2',
    'joined:room3',
    'left:room1',
    'left:room2',
    'left:lobby', // on disconnect, the groups it was still in, in name order
    'left:room3',
    'disconnected',
  ]);

  // The CloudEvents attributes of one presence request, as express and other SDKs read them.
  const post = handler.requests.items.find((r) => isEvent(r, 'azure.webpubsub.gp.joined'));
  assert.equal(post.header('ce-eventname'), 'joined');
  assert.equal(post.header('ce-connectionid'), id);
  assert.equal(post.header('ce-userid'), 'pat');
  assert.equal(post.header('ce-hub'), hub);
  assert.equal(post.header('ce-signature'), signatureFor(id, server.key));
  assert.match(post.header('content-type'), /^application\/json/);
  assert.deepEqual(JSON.parse(post.body.toString('utf8')), { group: 'lobby' });
  const left = handler.requests.items.find((r) => isEvent(r, 'azure.webpubsub.gp.left'));
  assert.equal(left.header('ce-eventname'), 'left');
});

test('only the presence events the handler asked for; none without groupPresenceEvents', async () => {
  const hub = 'gpjoinedonly';
  const { handler, server } = await setup(hub, {}, ['joined']);
  const c = await jsonClient(server, hub, { groups: ['a'] });
  const id = c.connected.connectionId;
  await handler.events.wait((e) => e.kind === 'joined', 5000, 'joined a');
  c.ws.close(1000, 'bye');
  await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.deepEqual(eventsOf(handler, id), ['connected', 'joined:a', 'disconnected']);

  const hub2 = 'gpnone';
  const other = await setup(hub2, {}, undefined);
  const d = await jsonClient(other.server, hub2, { groups: ['a'], roles: ['webpubsub.joinLeaveGroup'] });
  d.send({ type: 'joinGroup', group: 'b', ackId: 1 });
  await d.q.nextJson((m) => m.type === 'ack' && m.ackId === 1, 5000, 'join ack');
  closeAll(d);
  await other.handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  await delay(200);
  assert.equal(
    other.handler.requests.items.filter((r) => (r.header('ce-type') ?? '').startsWith('azure.webpubsub.gp.')).length,
    0,
    'no presence events without groupPresenceEvents',
  );
});

test('groups from the connect handler: joined after connected, with the state connect set; REST close: left then disconnected', async () => {
  const hub = 'gpconnect';
  const { handler, server } = await setup(
    hub,
    {
      handleConnect: (req, res) => {
        res.setState('seat', 7);
        res.success({ groups: ['blue', 'alpha'] });
      },
    },
    ['joined', 'left'],
    ['connect', 'connected', 'disconnected'],
  );
  const c = await jsonClient(server, hub, { userId: 'kim' });
  const id = c.connected.connectionId;
  await handler.events.wait((e) => e.kind === 'joined' && e.req.group === 'blue', 5000, 'joined blue');
  const joined = handler.events.items.find((e) => e.kind === 'joined');
  assert.deepEqual(joined.req.context.states, { seat: 7 }, 'presence events carry the connection state');
  assert.equal(joined.req.context.userId, 'kim');

  await serviceClient(server, hub).closeConnection(id, { reason: 'kicked' });
  const disc = await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.equal(disc.req.reason, 'kicked');
  const seq = eventsOf(handler, id);
  assert.deepEqual(seq.slice(0, 2), ['connect', 'connected']);
  assert.deepEqual([...seq.slice(2, 4)].sort(), ['joined:alpha', 'joined:blue']);
  assert.deepEqual(seq.slice(4), ['left:alpha', 'left:blue', 'disconnected']);
  closeAll(c);
});

test('a reliable connection that drops and recovers: no presence events for the drop, left only when it ends', async () => {
  const hub = 'gpreliable';
  const { handler, server } = await setup(hub, {}, ['joined', 'left']);
  const token = clientToken({ port: server.port, hub, key: server.key, roles: ['webpubsub.joinLeaveGroup'] });
  const first = await openSocket(clientUrl(server.port, hub, token), { protocols: [RELIABLE_JSON_PROTOCOL] });
  const connected = await first.q.nextJson((m) => m.event === 'connected', 5000, 'connected');
  const id = connected.connectionId;
  first.ws.send(JSON.stringify({ type: 'joinGroup', group: 'x', ackId: 1 }));
  await first.q.nextJson((m) => m.type === 'ack' && m.ackId === 1, 5000, 'join ack');
  await handler.events.wait((e) => e.kind === 'joined', 5000, 'joined x');
  first.ws.terminate(); // abrupt drop: the session waits for recovery
  await delay(200);
  const query = `&awps_connection_id=${id}&awps_reconnection_token=${connected.reconnectionToken}`;
  const second = await openSocket(clientUrl(server.port, hub, token) + query, { protocols: [RELIABLE_JSON_PROTOCOL] });
  const again = await second.q.nextJson((m) => m.event === 'connected', 5000, 'connected again');
  assert.equal(again.connectionId, id);
  second.ws.send(JSON.stringify({ type: 'joinGroup', group: 'y', ackId: 2 }));
  await second.q.nextJson((m) => m.type === 'ack' && m.ackId === 2, 5000, 'join ack after recovery');
  second.ws.close(1000, 'bye');
  await handler.events.wait((e) => e.kind === 'disconnected', 5000, 'disconnected');
  assert.deepEqual(eventsOf(handler, id), ['connected', 'joined:x', 'joined:y', 'left:x', 'left:y', 'disconnected']);
});

test('a config with an unknown presence event name stops the server naming the setting', async () => {
  await assert.rejects(
    startServer({
      config: { hubs: { h: { eventHandlers: [{ urlTemplate: 'http://127.0.0.1:9/', groupPresenceEvents: { eventNames: ['gone'] } }] } } },
      readyTimeoutMs: 5000,
    }),
    /groupPresenceEvents\.eventNames\[0\]: 'gone' is not a group presence event/,
  );
});

// Group presence events (issue 4, spec §8.8): a handler whose settings ask for
// groupPresenceEvents gets azure.webpubsub.gp.joined / .left CloudEvents, read by the real
// @azure/web-pubsub-express (onGroupJoined / onGroupLeft), for every way a connection joins or
// leaves a group: token groups at connect, the client's joinGroup/leaveGroup, REST add/remove
// (connection and user), and its disconnection. Per connection they arrive in order after
// `connected` and before `disconnected`. A handler that did not ask for them gets none.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAll, jsonClient, closeAll, delay } from './harness.mjs';
import { startExpressHandler, hubConfig, isEvent, signatureFor } from './webhook-helpers.mjs';
import { serviceClient } from './rest-helpers.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(hub, handlerOptions, presence) {
  const handler = await startExpressHandler(hub, {});
  cleanups.push(handler.close);
  const server = await startServer({
    config: hubConfig(hub, handler.urlTemplate, {
      systemEvents: ['connected', 'disconnected'],
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

test('a config with an unknown presence event name stops the server naming the setting', async () => {
  await assert.rejects(
    startServer({
      config: { hubs: { h: { eventHandlers: [{ urlTemplate: 'http://127.0.0.1:9/', groupPresenceEvents: { eventNames: ['gone'] } }] } } },
      readyTimeoutMs: 5000,
    }),
    /groupPresenceEvents\.eventNames\[0\]: 'gone' is not a group presence event/,
  );
});

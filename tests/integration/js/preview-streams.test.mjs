// Preview group streams (spec §6.8; docs/PROTOCOL.md "Preview features"): one official SDK
// client streams to a group in which another SDK client (JSON, onGroupStream) and a raw protobuf
// client listen; end and abort; permissions as sendToGroup; the publisher's disconnect ends its
// streams for the receivers; bad input gets streamClosed / streamNack, never a close; a protobuf
// publisher; a reliable receiver recovering mid-stream gets the missed fragments in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonReliableProtocol } from '@azure/web-pubsub-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import {
  startServer,
  stopAll,
  clientToken,
  clientUrl,
  openSocket,
  jsonClient,
  delay,
  withTimeout,
  RELIABLE_JSON_PROTOCOL,
} from './harness.mjs';
import { up, data, decodeDownstream } from './protobuf-wire.mjs';

const HUB = 'streams';
const PROTOBUF = 'protobuf.webpubsub.azure.v1';
let server;
const sdkClients = [];

before(async () => {
  server = await startServer({ args: ['--max-open-streams-per-connection', '2', '--max-stream-chunk-bytes', '1000'] });
});
after(async () => {
  for (const c of sdkClients) c.stop();
  await delay(100);
  await stopAll(server);
});

async function sdkClient(roles) {
  const service = new WebPubSubServiceClient(server.connectionString, HUB);
  const { url } = await service.getClientAccessToken({ userId: 'streamer', roles });
  const client = new WebPubSubClient(url, {
    protocol: WebPubSubJsonReliableProtocol(),
    autoReconnect: false,
    keepAliveIntervalInMs: 300,
    keepAliveTimeoutInMs: 1500,
  });
  sdkClients.push(client);
  const disconnects = [];
  client.on('disconnected', (e) => disconnects.push(e));
  await withTimeout(client.start(), 5000, 'start');
  return { client, disconnects };
}

// Collects every stream an SDK client receives: { [streamId]: { items, done, error } }.
function collectStreams(client) {
  const streams = {};
  client.onGroupStream(async (stream) => {
    const entry = (streams[stream.streamId] = { group: stream.groupName, items: [], done: false, error: undefined });
    try {
      for await (const item of stream) entry.items.push(item);
    } catch (err) {
      entry.error = err;
    }
    entry.done = true;
  });
  return {
    streams,
    async finished(id, timeoutMs = 5000) {
      for (let t = 0; t < timeoutMs; t += 50) {
        if (streams[id]?.done) return streams[id];
        await delay(50);
      }
      throw new Error(`stream ${id} did not finish; have ${JSON.stringify(Object.keys(streams))}`);
    },
  };
}

async function protobufClient(roles) {
  const tok = clientToken({ port: server.port, hub: HUB, key: server.key, roles });
  const { ws, q } = await openSocket(clientUrl(server.port, HUB, tok), { protocols: [PROTOBUF] });
  const next = async (pred = () => true, label = 'protobuf message', timeoutMs = 5000) => {
    const item = await q.next((i) => i.isBinary && pred(decodeDownstream(i.raw)), timeoutMs, label);
    return decodeDownstream(item.raw);
  };
  await next((m) => m.type === 'system', 'connected');
  return { ws, q, next, send: (buf) => ws.send(buf) };
}

test('an SDK client streams to an SDK (JSON) receiver and a protobuf receiver: end, abort, noEcho, permissions', async () => {
  const G = 'live';
  const publisher = await sdkClient(['webpubsub.sendToGroup', 'webpubsub.joinLeaveGroup']);
  const receiver = await sdkClient([`webpubsub.joinLeaveGroup.${G}`]);
  const inbound = collectStreams(receiver.client);
  await receiver.client.joinGroup(G);
  const pb = await protobufClient([`webpubsub.joinLeaveGroup.${G}`]);
  pb.send(up.joinGroup(G, 1));
  await pb.next((m) => m.type === 'ack');
  try {
    // The publisher is a member too, with noEcho: it never sees its own fragments.
    await publisher.client.joinGroup(G);
    const echoed = [];
    publisher.client.on('group-message', (e) => echoed.push(e.message));

    const s = await withTimeout(publisher.client.openGroupStream(G, { streamId: 'story-1', noEcho: true }), 5000, 'open');
    await s.write('once', 'text');
    await s.write({ upon: 'a time' }, 'json');
    await s.write(new Uint8Array([1, 2, 3]).buffer, 'binary');
    await s.end();
    const got = await inbound.finished('story-1');
    assert.equal(got.error, undefined);
    assert.equal(got.group, G);
    assert.deepEqual(
      got.items.map((i) => [i.stream.streamSequenceId, i.dataType]),
      [
        [1, 'text'],
        [2, 'json'],
        [3, 'binary'],
      ],
    );
    assert.equal(got.items[0].data, 'once');
    assert.deepEqual(got.items[1].data, { upon: 'a time' });
    assert.deepEqual([...new Uint8Array(got.items[2].data)], [1, 2, 3]);
    assert.equal(got.items[0].fromUserId, 'streamer');

    // The protobuf receiver: the same fragments in order with the stream's identity, then the end.
    const frames = [];
    for (let i = 0; i < 4; i += 1) frames.push(await pb.next((m) => m.type === 'message', `fragment ${i}`));
    assert.deepEqual(
      frames.map((m) => [m.group, m.stream.streamId, m.stream.streamSequenceId, m.stream.endOfStream, m.data?.kind]),
      [
        [G, 'story-1', 1, false, 'text'],
        [G, 'story-1', 2, false, 'text'], // json reaches protobuf clients as text (spec §6.7)
        [G, 'story-1', 3, false, 'binary'],
        [G, 'story-1', 4, true, 'text'],
      ],
    );
    assert.equal(frames[0].data.value, 'once');
    assert.deepEqual(JSON.parse(frames[1].data.value), { upon: 'a time' });

    // Abort with an error: receivers see UserError with the publisher's message and code.
    const aborted = await publisher.client.openGroupStream(G, { streamId: 'story-2', noEcho: true });
    await aborted.write('half', 'text');
    await aborted.abort({ message: 'gave up', userErrorCode: 'E42' });
    const failed = await inbound.finished('story-2');
    assert.deepEqual(failed.items.map((i) => i.data), ['half']);
    assert.equal(failed.error?.name, 'UserError');
    assert.equal(failed.error?.message, 'gave up');
    assert.equal(failed.error?.userErrorCode, 'E42');
    await pb.next((m) => m.stream?.streamId === 'story-2' && !m.stream.endOfStream, 'story-2 fragment');
    const pbEnd = await pb.next((m) => m.stream?.streamId === 'story-2' && m.stream.endOfStream, 'story-2 end');
    assert.deepEqual(pbEnd.stream.error, { name: 'UserError', message: 'gave up', userErrorCode: 'E42' });
    await delay(200);
    assert.deepEqual(echoed, [], 'noEcho applies to every fragment and the end');

    // Permissions as sendToGroup: the receiver may not publish to the group.
    await assert.rejects(receiver.client.openGroupStream(G, { streamId: 'nope' }), (err) => err.name === 'Forbidden');
    assert.deepEqual(publisher.disconnects, []);
    assert.deepEqual(receiver.disconnects, []);
  } finally {
    pb.ws.close();
  }
});

test('a publisher that disconnects mid-stream: receivers see the stream ended (Cancelled)', async () => {
  const G = 'cut';
  const receiver = await protobufClient([`webpubsub.joinLeaveGroup.${G}`]);
  receiver.send(up.joinGroup(G, 1));
  await receiver.next((m) => m.type === 'ack');
  const pub = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
  pub.send({ type: 'sendToGroup', group: G, stream: { streamId: 'c1' } });
  assert.deepEqual(await pub.q.nextJson((m) => m.type === 'streamAck'), { type: 'streamAck', streamId: 'c1', expectedSequenceId: 1 });
  pub.send({ type: 'streamData', streamId: 'c1', streamSequenceId: 1, dataType: 'text', data: 'a' });
  await pub.q.nextJson((m) => m.type === 'streamAck' && m.expectedSequenceId === 2);
  pub.ws.terminate();
  assert.equal((await receiver.next((m) => m.type === 'message')).data.value, 'a');
  const end = await receiver.next((m) => m.type === 'message', 'terminal');
  assert.equal(end.stream.endOfStream, true);
  assert.equal(end.stream.streamSequenceId, 2);
  assert.equal(end.stream.error.name, 'Cancelled');
  receiver.ws.close();
});

test('bad stream input is answered, never a disconnect: unknown ids, gaps, duplicates, oversized chunks, duplicate and too many streams', async () => {
  const G = 'bad';
  const c = await jsonClient(server, HUB, { roles: ['webpubsub.sendToGroup'] });
  const next = (pred, label) => c.q.nextJson(pred, 3000, label);
  c.send({ type: 'streamData', streamId: 'ghost', streamSequenceId: 1, dataType: 'text', data: 'x' });
  assert.equal((await next((m) => m.streamId === 'ghost')).error.name, 'StreamNotFound');
  c.send({ type: 'streamEnd', streamId: 'ghost' });
  assert.equal((await next((m) => m.streamId === 'ghost')).error.name, 'StreamNotFound');
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: '' } });
  assert.equal((await next((m) => m.type === 'streamClosed')).error.name, 'BadRequest');
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 'd' }, dataType: 'text', data: 'x' });
  assert.equal((await next((m) => m.streamId === 'd')).error.name, 'BadRequest');

  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 's1' } });
  assert.equal((await next((m) => m.streamId === 's1')).type, 'streamAck');
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 's1' } }); // already open
  const dupStart = await next((m) => m.streamId === 's1');
  assert.equal(dupStart.type, 'streamClosed');
  assert.equal(dupStart.error.name, 'BadRequest');
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 's2' } });
  assert.equal((await next((m) => m.streamId === 's2')).type, 'streamAck');
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 's3' } }); // limit is 2
  assert.match((await next((m) => m.streamId === 's3')).error.message, /Too many open streams/);

  c.send({ type: 'streamData', streamId: 's1', streamSequenceId: 2, dataType: 'text', data: 'gap' });
  const nack = await next((m) => m.streamId === 's1');
  assert.deepEqual([nack.type, nack.name, nack.expectedSequenceId], ['streamNack', 'InvalidSequenceId', 1]);
  c.send({ type: 'streamData', streamId: 's1', streamSequenceId: 1, dataType: 'text', data: 'one' });
  assert.equal((await next((m) => m.streamId === 's1')).expectedSequenceId, 2);
  c.send({ type: 'streamData', streamId: 's1', streamSequenceId: 1, dataType: 'text', data: 'one' }); // duplicate
  const dupAck = await next((m) => m.streamId === 's1');
  assert.deepEqual([dupAck.type, dupAck.expectedSequenceId], ['streamAck', 2]);
  c.send({ type: 'streamData', streamId: 's1' }); // keep-alive: no answer
  c.send({ type: 'streamData', streamId: 's1', streamSequenceId: 2, dataType: 'text', data: 'x'.repeat(1001) });
  const big = await next((m) => m.streamId === 's1');
  assert.equal(big.type, 'streamClosed');
  assert.equal(big.error.name, 'BadRequest');
  // Stream s1 is gone; its id may be reused.
  c.send({ type: 'sendToGroup', group: G, stream: { streamId: 's1', idleTimeoutMs: 300 } });
  assert.equal((await next((m) => m.streamId === 's1')).type, 'streamAck');
  // Idle for longer than its idleTimeoutMs: closed IdleTimeout.
  const idle = await next((m) => m.streamId === 's1', 'idle timeout');
  assert.equal(idle.error.name, 'IdleTimeout');
  c.send({ type: 'ping' });
  await next((m) => m.type === 'pong');
  assert.equal(c.q.closeInfo, null, 'still open');
  c.ws.close();
});

test('protobuf publisher; a reliable JSON receiver that recovers mid-stream gets the missed fragments in order', async () => {
  const G = 'rec';
  const tok = clientToken({ port: server.port, hub: HUB, key: server.key, roles: ['webpubsub.joinLeaveGroup'] });
  const first = await openSocket(clientUrl(server.port, HUB, tok), { protocols: [RELIABLE_JSON_PROTOCOL] });
  const connected = await first.q.nextJson((m) => m.event === 'connected');
  first.ws.send(JSON.stringify({ type: 'joinGroup', group: G, ackId: 1 }));
  await first.q.nextJson((m) => m.type === 'ack');
  const pub = await protobufClient(['webpubsub.sendToGroup']);
  pub.send(up.sendToGroup(G, undefined, { stream: { streamId: 'p1' } }));
  assert.deepEqual(await pub.next((m) => m.type === 'streamAck'), { type: 'streamAck', streamId: 'p1', expectedSequenceId: 1 });
  pub.send(up.streamData('p1', 1, data.text('f1')));
  const f1 = await first.q.nextJson((m) => m.type === 'message');
  assert.deepEqual(f1.stream, { streamId: 'p1', streamSequenceId: 1 });
  first.ws.send(JSON.stringify({ type: 'sequenceAck', sequenceId: f1.sequenceId }));
  await delay(100);
  first.ws.terminate(); // mid-stream drop
  await delay(150);
  pub.send(up.streamData('p1', 2, data.text('f2')));
  pub.send(up.streamData('p1', 3, data.binary(Buffer.from([7]))));
  pub.send(up.streamEnd('p1'));
  await pub.next((m) => m.type === 'streamClosed' && m.streamId === 'p1');
  const query = `&awps_connection_id=${connected.connectionId}&awps_reconnection_token=${connected.reconnectionToken}`;
  const second = await openSocket(clientUrl(server.port, HUB, tok) + query, { protocols: [RELIABLE_JSON_PROTOCOL] });
  try {
    await second.q.nextJson((m) => m.event === 'connected');
    const replayed = [];
    for (let i = 0; i < 3; i += 1) replayed.push(await second.q.nextJson((m) => m.type === 'message'));
    assert.deepEqual(
      replayed.map((m) => [m.stream.streamSequenceId, m.dataType, m.data, m.stream.endOfStream ?? false]),
      [
        [2, 'text', 'f2', false],
        [3, 'binary', Buffer.from([7]).toString('base64'), false],
        [4, 'text', '', true],
      ],
    );
    assert.ok(replayed[0].sequenceId < replayed[1].sequenceId && replayed[1].sequenceId < replayed[2].sequenceId);
  } finally {
    second.ws.close();
    pub.ws.close();
  }
});

// Preview client features across nodes on Redis (spec §6.8, §6.10; docs/PROTOCOL.md "Preview
// features"): an SDK client on node A streams to a group whose members sit on B (raw JSON) and C
// (raw protobuf); fragments arrive in order with the stream's identity and the end (an abort with
// the publisher's error); client metadata crosses nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebPubSubClient, WebPubSubJsonReliableProtocol } from '@azure/web-pubsub-client';
import { withTimeout, clientToken, clientUrl, openSocket, delay } from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';
import { clusterFixture } from './cluster-harness.mjs';
import { up, decodeDownstream } from './protobuf-wire.mjs';

const HUB = 'clusterpreview';
const cluster = clusterFixture(HUB);
const { client, join, sdkClients } = cluster;
let A;
let B;
let C;

before(async () => {
  await cluster.start();
  [A, B, C] = cluster.nodes;
});
after(() => cluster.stop());

async function protobufClient(node) {
  const tok = clientToken({ port: node.port, hub: HUB, key: node.key, roles: ['webpubsub.joinLeaveGroup'] });
  const { ws, q } = await openSocket(clientUrl(node.port, HUB, tok), { protocols: ['protobuf.webpubsub.azure.v1'] });
  const next = async (pred = () => true, label = 'protobuf message') => {
    const item = await q.next((i) => i.isBinary && pred(decodeDownstream(i.raw)), 5000, label);
    return decodeDownstream(item.raw);
  };
  await next((m) => m.type === 'system', 'connected');
  return { ws, q, next, send: (buf) => ws.send(buf) };
}

test('a group stream from an SDK client on A reaches members on B (JSON) and C (protobuf) in order; metadata crosses nodes', async () => {
  const G = 'stream-room';
  const onB = await client(B);
  await join(onB, G, 1);
  const onC = await protobufClient(C);
  cluster.clients.push({ ws: onC.ws });
  onC.send(up.joinGroup(G, 1));
  await onC.next((m) => m.type === 'ack');
  await delay(300); // the subscriptions of B and C reach Redis

  const { url } = await serviceClient(A, HUB).getClientAccessToken({ userId: 'streamer', roles: ['webpubsub.sendToGroup'] });
  const sdk = new WebPubSubClient(url, {
    protocol: WebPubSubJsonReliableProtocol(),
    autoReconnect: false,
    keepAliveIntervalInMs: 1000,
    keepAliveTimeoutInMs: 3000,
  });
  sdkClients.push(sdk);
  await withTimeout(sdk.start(), 5000, 'SDK start on A');
  const s = await withTimeout(sdk.openGroupStream(G, { streamId: 'x-node' }), 5000, 'open');
  const N = 20;
  for (let i = 1; i <= N; i += 1) await s.write(`part ${i}`, 'text');
  await s.abort({ message: 'stop here', userErrorCode: 'E7' });

  const atB = [];
  for (let i = 0; i <= N; i += 1) atB.push(await onB.q.nextJson((m) => m.type === 'message', 5000, `B fragment ${i}`));
  assert.deepEqual(
    atB.slice(0, N).map((m) => [m.stream.streamId, m.stream.streamSequenceId, m.data, m.fromUserId]),
    Array.from({ length: N }, (_, i) => ['x-node', i + 1, `part ${i + 1}`, 'streamer']),
  );
  assert.deepEqual(atB[N].stream, {
    streamId: 'x-node',
    streamSequenceId: N + 1,
    endOfStream: true,
    error: { name: 'UserError', message: 'stop here', userErrorCode: 'E7' },
  });
  const atC = [];
  for (let i = 0; i <= N; i += 1) atC.push(await onC.next((m) => m.type === 'message', `C fragment ${i}`));
  assert.deepEqual(
    atC.map((m) => m.stream.streamSequenceId),
    Array.from({ length: N + 1 }, (_, i) => i + 1),
  );
  assert.equal(atC[N].stream.endOfStream, true);
  assert.equal(atC[N].stream.error.userErrorCode, 'E7');

  // Metadata from a raw client on A reaches B and C.
  const sender = await client(A);
  sender.send({ type: 'sendToGroup', group: G, dataType: 'text', data: 'meta', metadata: { 'Trace-Id': 't1' }, ackId: 5 });
  await sender.q.ack(5);
  const mB = await onB.q.nextJson((m) => m.data === 'meta');
  assert.deepEqual(mB.metadata, { 'Trace-Id': 't1' });
  const mC = await onC.next((m) => m.type === 'message');
  assert.deepEqual(mC.metadata, { 'Trace-Id': 't1' });
});

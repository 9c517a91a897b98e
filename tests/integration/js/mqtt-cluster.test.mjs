// MQTT clients in a three-node Redis cluster (spec mqtt §1, issue 16 item 5): MQTT 5 and 3.1.1
// clients on different nodes exchange messages through their groups, with a JSON client on a
// third node in the same group, and REST on any node reaches them (send, exists, close).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { withTimeout } from './harness.mjs';
import { serviceClient, eventually } from './rest-helpers.mjs';
import { clusterFixture, CLUSTER_ROLES } from './cluster-harness.mjs';

const HUB = 'mqttcluster';
const cluster = clusterFixture(HUB);
const { client } = cluster;
const mqttClients = [];
let A;
let B;
let C;

before(async () => {
  await cluster.start();
  [A, B, C] = cluster.nodes;
});
after(async () => {
  for (const c of mqttClients) c.end(true);
  await cluster.stop();
});

async function mqttOn(node, clientId, version) {
  const { url } = await serviceClient(node, HUB).getClientAccessToken({ clientProtocol: 'mqtt', roles: CLUSTER_ROLES });
  const c = await mqtt.connectAsync(url, { protocolVersion: version, clientId, reconnectPeriod: 0, connectTimeout: 5000 });
  mqttClients.push(c);
  c.got = [];
  c.on('message', (topic, payload, packet) => c.got.push({ topic, payload: payload.toString(), packet }));
  return c;
}

test('MQTT clients on different nodes exchange group messages; JSON and REST join in', async () => {
  const onA = await mqttOn(A, 'clusterA5', 5);
  const onB = await mqttOn(B, 'clusterB4', 4);
  await onA.subscribeAsync('room', { qos: 1 });
  await onB.subscribeAsync('room', { qos: 1 });
  const json = await client(C);
  json.ws.send(JSON.stringify({ type: 'joinGroup', group: 'room', ackId: 1 }));
  await json.q.ack(1);
  // Interest propagation across nodes is asynchronous: retry until the first message crosses.
  await eventually(
    async () => {
      await onA.publishAsync('room', 'from A', { qos: 1, properties: { contentType: 'text/plain' } });
      return onB.got.some((m) => m.payload === 'from A');
    },
    8000,
    'A -> B',
  );
  const j = await json.q.groupMessage('room');
  assert.equal(j.dataType, 'text');
  assert.equal(j.data, 'from A');
  await onB.publishAsync('room', 'from B', { qos: 1 });
  await eventually(() => onA.got.some((m) => m.payload === 'from B'), 5000, 'B -> A');
  const fromB = onA.got.find((m) => m.payload === 'from B');
  assert.equal(fromB.packet.properties.contentType, 'application/octet-stream');
  json.ws.send(JSON.stringify({ type: 'sendToGroup', group: 'room', dataType: 'json', data: { c: 1 } }));
  await eventually(() => onA.got.some((m) => m.payload === '{"c":1}') && onB.got.some((m) => m.payload === '{"c":1}'), 5000, 'C -> A, B');
  // REST on C: exists for a connection on A, send to a connection on B, close on A.
  const svcC = serviceClient(C, HUB);
  assert.equal(await svcC.connectionExists('clusterA5'), true);
  await svcC.sendToConnection('clusterB4', 'direct', { contentType: 'text/plain' });
  await eventually(() => onB.got.some((m) => m.topic === '$webpubsub/server/messages' && m.payload === 'direct'), 5000, 'REST on C -> B');
  const gone = new Promise((resolve) => onA.once('disconnect', resolve));
  await svcC.closeConnection('clusterA5', { reason: 'cluster close' });
  assert.equal((await withTimeout(gone, 5000, 'DISCONNECT on A')).reasonCode, 0x98);
});

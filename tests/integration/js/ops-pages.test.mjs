// The operations pages (issue 17) in a real browser: Debian's chromium, headless, driven by
// playwright-core (no browser download), against a server with --metrics-port while clients send.
// The overview must show the hubs' connection, group and user counts and message rates; the live
// trace must show connection, message and REST rows, and its filters, pause and clear must work.
// The run writes docs/ops-overview.png and docs/ops-trace.png.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, stopAll, jsonClient, closeAll, delay, REPO_DIR } from './harness.mjs';
import { serviceClient } from './rest-helpers.mjs';

const CHROMIUM = process.env.WPS_CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const servers = [];
const clients = [];
let browser;
after(async () => {
  closeAll(...clients);
  if (browser) await browser.close();
  await stopAll(...servers);
});

test('overview and live trace pages in headless Chromium', async () => {
  const metricsPort = await freePort();
  const server = await startServer({ args: ['--metrics-port', String(metricsPort)] });
  servers.push(server);
  const base = `http://127.0.0.1:${metricsPort}`;
  const roles = ['webpubsub.joinLeaveGroup', 'webpubsub.sendToGroup'];

  // Hub A: three users, two of them in group "room"; hub B: one client.
  for (const user of ['ann', 'bob', 'cid']) clients.push(await jsonClient(server, 'opspagesa', { userId: user, roles }));
  clients.push(await jsonClient(server, 'opspagesb', { userId: 'dee', roles }));
  for (const [n, c] of clients.slice(0, 2).entries()) {
    c.send({ type: 'joinGroup', group: 'room', ackId: n + 1 });
    await c.q.nextJson((m) => m.type === 'ack', 5000, 'join ack');
  }
  // Traffic while the pages are open: ann sends to the room every 50 ms, dee to its hub's group.
  let ackId = 100;
  const traffic = setInterval(() => {
    clients[0].send({ type: 'sendToGroup', group: 'room', dataType: 'text', data: 'tick', noEcho: true });
    clients[3].send({ type: 'sendToGroup', group: 'lonely', dataType: 'text', data: 'tick', ackId: ackId++ });
  }, 50);
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });

    // ---- overview
    await page.goto(`${base}/`);
    const cellOf = (hub, field) => page.locator(`#hubs tr[data-hub="${hub}"] td[data-field="${field}"]`);
    await page.waitForFunction(
      () => {
        const row = document.querySelector('#hubs tr[data-hub="opspagesa"]');
        const rate = row && row.querySelector('td[data-field="received-rate"]');
        return rate && Number(rate.textContent) > 0;
      },
      null,
      { timeout: 10000 },
    );
    assert.equal(await cellOf('opspagesa', 'connections').textContent(), '3');
    assert.equal(await cellOf('opspagesa', 'groups').textContent(), '1');
    assert.equal(await cellOf('opspagesa', 'users').textContent(), '3');
    assert.equal(await cellOf('opspagesb', 'connections').textContent(), '1');
    assert.equal(await cellOf('opspagesb', 'users').textContent(), '1');
    assert.ok(Number(await cellOf('opspagesa', 'delivered-rate').textContent()) > 0, 'delivery rate shown');
    // Updated live: a client that leaves is gone from the count within a couple of refreshes.
    clients[2].ws.close();
    await page.waitForFunction(
      () => document.querySelector('#hubs tr[data-hub="opspagesa"] td[data-field="connections"]')?.textContent === '2',
      null,
      { timeout: 5000 },
    );
    await page.screenshot({ path: path.join(REPO_DIR, 'docs', 'ops-overview.png') });

    // ---- live trace
    await page.goto(`${base}/trace`);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 5000 });
    const rows = page.locator('#trace tbody tr');
    // A new connection, a REST call and the ongoing messages show up.
    clients.push(await jsonClient(server, 'opspagesb', { userId: 'eve', roles }));
    const eveId = clients.at(-1).connected.connectionId;
    await serviceClient(server, 'opspagesa').sendToAll('from rest', { contentType: 'text/plain' });
    await page.locator(`#trace tr[data-kind="connected"][data-user="eve"][data-connection="${eveId}"]`).waitFor({ timeout: 5000 });
    await page.locator('#trace tr[data-kind="rest"][data-hub="opspagesa"]').first().waitFor({ timeout: 5000 });
    await page.locator('#trace tr[data-kind="received"][data-user="ann"]').first().waitFor({ timeout: 5000 });
    await page.locator('#trace tr[data-kind="published"][data-hub="opspagesb"]').first().waitFor({ timeout: 5000 });
    assert.match(await page.locator('#trace tr[data-kind="rest"]').first().textContent(), /SendToAll 202/);
    await page.screenshot({ path: path.join(REPO_DIR, 'docs', 'ops-trace.png') });

    const visible = async () =>
      page.$$eval('#trace tbody tr', (trs) => trs.filter((tr) => !tr.hidden).map((tr) => ({ ...tr.dataset })));

    // Filter by user: only ann's rows stay visible, old and new.
    await page.fill('#f-user', 'ann');
    await delay(300);
    let shown = await visible();
    assert.ok(shown.length > 0, 'rows of ann');
    assert.ok(shown.every((r) => r.user === 'ann'), JSON.stringify(shown.slice(0, 5)));
    await page.fill('#f-user', '');
    // By hub.
    await page.fill('#f-hub', 'opspagesb');
    await delay(300);
    shown = await visible();
    assert.ok(shown.length > 0 && shown.every((r) => r.hub === 'opspagesb'), JSON.stringify(shown.slice(0, 5)));
    await page.fill('#f-hub', '');
    // By connection.
    await page.fill('#f-connection', eveId);
    shown = await visible();
    assert.ok(shown.length > 0 && shown.every((r) => r.connection === eveId), JSON.stringify(shown.slice(0, 5)));
    await page.fill('#f-connection', '');
    assert.ok((await visible()).some((r) => r.hub === 'opspagesa'), 'rows of the other hub back');

    // Pause: no new rows while traffic flows; resume: rows again.
    await page.click('#pause');
    const paused = await rows.count();
    await delay(500);
    assert.equal(await rows.count(), paused, 'no row added while paused');
    await page.click('#pause');
    await page.waitForFunction((n) => document.querySelectorAll('#trace tbody tr').length > n, paused, { timeout: 5000 });
    // Clear (the traffic stopped first, so that nothing arrives after it).
    clearInterval(traffic);
    await delay(300);
    await page.click('#clear');
    assert.equal(await rows.count(), 0, 'cleared');
  } finally {
    clearInterval(traffic);
  }
});

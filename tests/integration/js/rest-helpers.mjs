// Helpers for the REST API integration tests (rest-*.test.mjs): SDK clients, raw HTTP calls
// signed like the SDKs (spec §3.1), and assertions on the ErrorDetail responses (spec §4.2).
import assert from 'node:assert/strict';
import http from 'node:http';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { signJwt, jsonClient, simpleClient, delay } from './harness.mjs';

export const LATEST_API_VERSION = '2024-12-01';
export const SUPPORTED_API_VERSIONS = ['2021-10-01', '2022-11-01', '2023-07-01', '2024-01-01', '2024-12-01'];

/** The JS server SDK against the test server (http:// needs allowInsecureConnection, spec §3.1). */
export function serviceClient(server, hub, options = {}) {
  return new WebPubSubServiceClient(server.connectionString, hub, { allowInsecureConnection: true, ...options });
}

/**
 * A REST bearer token the way @azure/web-pubsub signs it: HS256, aud = the full request URL
 * (with query), exp = now + 1 h, iat = now. Overrides: key, aud, exp, iat, nbf, extra claims.
 */
export function restToken(url, key, { aud, exp, iat, nbf, extra = {}, header } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { aud: aud ?? url, iat: iat ?? now, exp: exp ?? now + 3600, ...extra };
  if (exp === null) delete payload.exp;
  if (nbf !== undefined) payload.nbf = nbf;
  return signJwt(payload, key, header);
}

/**
 * One raw HTTP request with node:http (so HEAD bodies and exact bytes are observable).
 * `path` is the path+query as sent. Options: method, body (string|Buffer), headers,
 * token (string | false for none | undefined = sign with server.key and aud = URL), tokenOptions,
 * key (signing key), agent (http.Agent). Resolves { status, headers, body, text, json, reusedSocket }.
 */
export function rawRequest(server, path, { method = 'POST', body, headers = {}, token, tokenOptions, key, agent, timeoutMs = 5000 } = {}) {
  const url = `${server.endpoint}${path}`;
  const h = { ...headers };
  if (token === undefined) token = restToken(url, key ?? server.key, tokenOptions);
  if (token !== false) h.Authorization = `Bearer ${token}`;
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (payload !== undefined && h['Content-Length'] === undefined) h['Content-Length'] = payload.length;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: 'localhost', port: server.port, path, method, headers: h, timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const out = { status: res.statusCode, headers: res.headers, body: buf, text: buf.toString('utf8'), reusedSocket: req.reusedSocket };
          try {
            out.json = JSON.parse(out.text);
          } catch {
            /* not JSON */
          }
          resolve(out);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms: ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Builds `/api/hubs/<hub><rest>?api-version=...&<query>`. */
export function apiPath(hub, rest, query = '', apiVersion = LATEST_API_VERSION) {
  const q = [apiVersion === null ? '' : `api-version=${apiVersion}`, query].filter(Boolean).join('&');
  return `/api/hubs/${encodeURIComponent(hub)}${rest}${q ? `?${q}` : ''}`;
}

/**
 * Asserts an error response: the status, a JSON ErrorDetail body with string "code" and
 * "message", and an x-ms-error-code header equal to the body's code (spec §4.2).
 * For HEAD: status only, no body. Returns the parsed body.
 */
export function assertError(res, status, { head = false, label = '' } = {}) {
  const ctx = `${label} -> ${res.status} ${JSON.stringify(res.headers)} ${res.text}`;
  assert.equal(res.status, status, `expected HTTP ${status}: ${ctx}`);
  if (head) {
    assert.equal(res.body.length, 0, `HEAD error must have no body: ${ctx}`);
    return undefined;
  }
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/json/i, `JSON content type: ${ctx}`);
  assert.ok(res.json && typeof res.json === 'object', `JSON error body: ${ctx}`);
  assert.equal(typeof res.json.code, 'string', `ErrorDetail.code: ${ctx}`);
  assert.ok(res.json.code.length > 0, `ErrorDetail.code non-empty: ${ctx}`);
  assert.equal(typeof res.json.message, 'string', `ErrorDetail.message: ${ctx}`);
  assert.ok(res.json.message.length > 0, `ErrorDetail.message non-empty: ${ctx}`);
  assert.ok(res.headers['x-ms-error-code'], `x-ms-error-code header: ${ctx}`);
  assert.equal(res.headers['x-ms-error-code'], res.json.code, `x-ms-error-code equals the body code: ${ctx}`);
  return res.json;
}

/** Asserts that `promise` (an SDK call) rejects with a RestError of HTTP `status`. */
export async function assertSdkStatus(promise, status, label = 'SDK call') {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${label}: expected the SDK to throw HTTP ${status}, but it succeeded`);
  assert.equal(err.statusCode, status, `${label}: expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
  return err;
}

/** A JSON-protocol client tracked in `list` (for cleanup). */
export async function trackedJson(list, server, hub, tokenOptions = {}) {
  const c = await jsonClient(server, hub, tokenOptions);
  list.push(c);
  return c;
}

/**
 * A simple client, returned once the server delivers to it: the WebSocket 'open' can come before
 * the server has registered the connection in its hub, so the client also joins a group of its
 * own (token claim) that gets probes until one arrives; the probes are then discarded.
 */
let simpleSync = 0;
export async function trackedSimple(list, server, hub, tokenOptions = {}) {
  const syncGroup = `simple-sync-${++simpleSync}`;
  const c = await simpleClient(server, hub, { ...tokenOptions, groups: [...(tokenOptions.groups ?? []), syncGroup] });
  list.push(c);
  const service = serviceClient(server, hub);
  const tag = `${syncGroup}-probe-`;
  const deadline = Date.now() + 5000;
  let n = 0;
  while (!c.q.items.some((i) => i.text?.startsWith(tag))) {
    if (Date.now() > deadline) throw new Error(`simple client in hub ${hub} never received a probe of ${syncGroup}`);
    if (c.q.closeInfo) throw new Error(`simple client closed (${c.q.closeInfo.code}) while syncing`);
    await service.group(syncGroup).sendToAll(`${tag}${++n}`, { contentType: 'text/plain' });
    await delay(25);
  }
  await service.group(syncGroup).sendToAll(`${tag}end`, { contentType: 'text/plain' });
  await c.q.next((i) => i.text === `${tag}end`, 5000, 'simple sync end marker');
  c.q.items = c.q.items.filter((i) => !i.text?.startsWith(tag));
  return c;
}

/** Next server message ({type:"message"}) on a JSON client. */
export function nextData(client, timeoutMs = 5000, label = 'data message') {
  return client.q.nextJson((m) => m.type === 'message', timeoutMs, label);
}

/**
 * Proves a JSON client did NOT get an earlier message: sends a marker to it with the SDK and
 * asserts the marker is the very next data message it receives.
 */
export async function assertNextIsMarker(service, client, label = 'marker') {
  const marker = `marker-${label}-${Math.random().toString(36).slice(2)}`;
  await service.sendToConnection(client.connected.connectionId, marker, { contentType: 'text/plain' });
  const m = await nextData(client, 5000, `marker ${marker}`);
  assert.equal(m.data, marker, `expected only the marker, got an earlier message: ${JSON.stringify(m)}`);
}

/** Waits for a condition polled every 25 ms (bounded). */
export async function eventually(fn, timeoutMs = 3000, label = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await delay(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label} (last: ${last})`);
}

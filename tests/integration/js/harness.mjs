// Shared harness for the integration tests: starts the real webpubsub-server
// binary on a free port, mints tokens, and wraps `ws` sockets with a message
// queue whose every wait has a timeout.
//
// Contract with the server (see tests/integration/README.md):
//   - binary from $WPS_SERVER_BIN, default <repo>/build/release/src/webpubsub-server
//   - started with `--port 0 [flags]` (listens on loopback only), prints a line containing
//     `Endpoint=http://localhost:<port>;AccessKey=<key>;Version=1.0;` when ready (another host
//     when given --host with an address).
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const INTEGRATION_DIR = path.resolve(here, '..');
export const REPO_DIR = path.resolve(INTEGRATION_DIR, '..', '..');
export const SERVER_BIN =
  process.env.WPS_SERVER_BIN || path.join(REPO_DIR, 'build', 'release', 'src', 'webpubsub-server');
export const TMP_DIR = path.join(INTEGRATION_DIR, '.tmp');

export const DEFAULT_KEY = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH';
export const JSON_PROTOCOL = 'json.webpubsub.azure.v1';
export const RELIABLE_JSON_PROTOCOL = 'json.reliable.webpubsub.azure.v1';

// The host is localhost unless the server was given another loopback or a public address.
const ENDPOINT_RE = /Endpoint=(https?):\/\/(localhost|[0-9.]+|\[[0-9a-fA-F:]+\]):(\d+);AccessKey=([^;]+);Version=1\.0;/;

// ---------------------------------------------------------------- timeouts

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `label` if `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, label = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const tmpDirs = [];
/** A fresh directory under tests/integration/.tmp, removed when this process exits. */
export function makeTmpDir(prefix) {
  mkdirSync(TMP_DIR, { recursive: true });
  const dir = mkdtempSync(path.join(TMP_DIR, prefix));
  tmpDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  if (process.env.WPS_KEEP_TMP) return;
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------- server

const liveServers = new Set();
// Sanitizer reports in any server's output fail the test file (its process exits non-zero), even
// when every assertion passed: ThreadSanitizer keeps running after a report, and a server
// killed with SIGKILL leaves no exit code to look at. The whole output of each server is scanned
// once it has ended (a report arrives in several chunks), and what a server still running at the
// end had written so far. Servers are stopped with SIGTERM wherever a test does not need SIGKILL,
// so that they exit through main() and LeakSanitizer reports what they leaked.
export const SANITIZER_RE = /WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: /;
const sanitizerReports = [];
// Servers that died of a signal other than SIGKILL after the harness asked them to stop (a crash
// on shutdown).
const badExits = [];

/** The sanitizer report in `output`, shortened for the summary, or null. */
export function sanitizerReport(output) {
  const m = SANITIZER_RE.exec(output);
  if (!m) return null;
  const start = output.lastIndexOf('\n', Math.max(0, m.index - 200)) + 1;
  return output.slice(start, start + 6000);
}

function scanOutput(server) {
  if (server.scanned) return;
  server.scanned = true;
  const report = sanitizerReport(`${server.stdout()}\n${server.stderr()}`);
  if (report) sanitizerReports.push(`server ${server.args.join(' ')}:\n${report}`);
}

// A running server does not keep the test process alive (its process and pipes are unref'd): when
// nothing else is left to do (every test has ended, also one that failed before it stopped its
// servers), the servers still running are stopped gracefully and waited for, so their leak
// reports are seen, and the process then ends.
function keepAlive(server, on) {
  for (const handle of [server.proc, server.proc.stdout, server.proc.stderr]) {
    if (on) handle?.ref?.();
    else handle?.unref?.();
  }
}
process.on('beforeExit', () => {
  for (const s of [...liveServers]) {
    keepAlive(s, true);
    s.stop('SIGTERM').catch(() => {
      /* killed after its timeout; a sanitizer report still fails the file */
    });
  }
});

process.on('exit', () => {
  for (const s of liveServers) {
    scanOutput(s);
    try {
      s.proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (sanitizerReports.length > 0) {
    process.stderr.write(`\n${sanitizerReports.length} sanitizer report(s) from the server:\n${sanitizerReports.join('\n---\n')}\n`);
    process.exitCode = 1;
  }
  if (badExits.length > 0) {
    process.stderr.write(`\n${badExits.length} server(s) crashed while stopping:\n${badExits.join('\n---\n')}\n`);
    process.exitCode = 1;
  }
});

/**
 * Starts the server. Options:
 *   args: extra CLI flags; config: object written to a JSON file and passed with --config;
 *   env: extra environment; readyTimeoutMs.
 * Resolves to { proc, port, key, endpoint, connectionString, output(), stop(signal) }.
 */
export async function startServer({ args = [], config, env = {}, readyTimeoutMs = 15000 } = {}) {
  const fullArgs = ['--port', '0']; // default host: loopback only (localhost)
  if (config !== undefined) {
    const dir = makeTmpDir('config-');
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config, null, 2));
    fullArgs.push('--config', file);
  }
  fullArgs.push(...args);
  // WPS_SERVER_THREADS: event-loop threads for every server a test does not set itself.
  if (process.env.WPS_SERVER_THREADS && !fullArgs.includes('--threads')) fullArgs.push('--threads', process.env.WPS_SERVER_THREADS);
  const proc = spawn(SERVER_BIN, fullArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  // 'close': the process has exited and its output has been read to the end.
  const exited = new Promise((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  let stopSignal = null;
  const server = {
    proc,
    args: fullArgs,
    exited,
    output: () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
    stdout: () => stdout,
    stderr: () => stderr,
    // The server's own bound after SIGTERM is its shutdown grace (3 s); the rest of the timeout is
    // for a sanitizer build's slow exit (leak check included) on a loaded machine.
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        liveServers.delete(server);
        return exited;
      }
      stopSignal ??= signal;
      proc.kill(signal);
      try {
        return await withTimeout(exited, timeoutMs, `server exit after ${signal}`);
      } catch (err) {
        proc.kill('SIGKILL');
        await exited;
        // What the server said last tells why it did not stop.
        err.message += `\n${server.output().slice(-3000)}`;
        throw err;
      } finally {
        liveServers.delete(server);
      }
    },
  };
  keepAlive(server, false);
  exited.then(({ signal }) => {
    scanOutput(server);
    if (stopSignal !== null && signal !== null && signal !== 'SIGKILL' && signal !== stopSignal) {
      badExits.push(`server ${fullArgs.join(' ')} died of ${signal} after ${stopSignal}:\n${server.output().slice(-3000)}`);
    }
  });
  liveServers.add(server);
  const ready = new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = ENDPOINT_RE.exec(stdout);
      if (m) resolve(m);
    });
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    proc.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`server exited before ready (code ${code}, signal ${signal})\n${server.output()}`)),
    );
  });
  let m;
  try {
    m = await withTimeout(ready, readyTimeoutMs, `server ${SERVER_BIN} printing its Endpoint line`);
  } catch (err) {
    proc.kill('SIGKILL');
    liveServers.delete(server);
    err.message += `\n${server.output()}`;
    throw err;
  }
  server.scheme = m[1];
  server.port = Number(m[3]);
  server.key = m[4];
  server.endpoint = `${server.scheme}://${m[2]}:${server.port}`;
  server.connectionString = `Endpoint=${server.endpoint};AccessKey=${server.key};Version=1.0;`;
  server.printedLine = m[0];
  return server;
}

/**
 * Stops every server in `servers` (SIGTERM, so that sanitizer builds check for leaks; SIGKILL
 * after 10 s), ignoring those not started.
 */
export async function stopAll(...servers) {
  for (const s of servers) {
    if (s) {
      try {
        await s.stop('SIGTERM');
      } catch {
        /* ignore */
      }
    }
  }
}

// ---------------------------------------------------------------- tokens

function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

/** Signs a JWT. `header` defaults to HS256; alg "none" produces an unsigned token. */
export function signJwt(payload, key, header = { alg: 'HS256', typ: 'JWT' }) {
  const head = b64url(JSON.stringify(header));
  const body = b64url(JSON.stringify(payload));
  if (header.alg === 'none') return `${head}.${body}.`;
  const sig = createHmac('sha256', Buffer.from(key, 'utf8')).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/**
 * Mints a client access token like the SDKs do. Options: hub, port, key, userId, roles,
 * groups, aud (override), exp/nbf/iat (absolute seconds; exp defaults to now+1h),
 * extra (extra claims), header.
 */
export function clientToken({
  port,
  hub,
  key = DEFAULT_KEY,
  userId,
  roles,
  groups,
  aud,
  exp,
  nbf,
  iat,
  extra = {},
  header,
}) {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    aud: aud ?? `http://localhost:${port}/client/hubs/${hub}`,
    iat: iat ?? now,
    exp: exp ?? now + 3600,
    ...extra,
  };
  if (nbf !== undefined) payload.nbf = nbf;
  if (userId !== undefined) payload.sub = userId;
  if (roles !== undefined) payload.role = roles;
  if (groups !== undefined) payload['webpubsub.group'] = groups;
  return signJwt(payload, key, header);
}

export function clientUrl(port, hub, token) {
  const base = `ws://localhost:${port}/client/hubs/${hub}`;
  return token === undefined ? base : `${base}?access_token=${encodeURIComponent(token)}`;
}

// ---------------------------------------------------------------- sockets

/**
 * Opens a `ws` socket. Resolves { ws, q, protocol } on open; rejects with an error whose
 * `status` is the HTTP status when the server refuses the upgrade.
 */
export function openSocket(url, { protocols, headers, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: timeoutMs });
    const q = new MessageQueue(ws);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`timed out opening ${url}`));
    }, timeoutMs + 500);
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      const err = new Error(`server refused the upgrade with HTTP ${res.statusCode}`);
      err.status = res.statusCode;
      res.resume();
      req.destroy();
      reject(err);
    });
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({ ws, q, protocol: ws.protocol });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Expects the upgrade to be refused; resolves to the HTTP status. */
export async function expectRefused(url, opts) {
  try {
    const { ws } = await openSocket(url, opts);
    ws.terminate();
  } catch (err) {
    if (err.status !== undefined) return err.status;
    throw err;
  }
  throw new Error(`expected the server to refuse ${url}, but the WebSocket opened`);
}

/**
 * Records every frame a socket receives. Text frames are parsed as JSON when possible.
 * Each entry: { isBinary, raw: Buffer, text?: string, json?: any }.
 */
export class MessageQueue {
  constructor(ws) {
    this.ws = ws;
    this.items = [];
    this.waiters = [];
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
    ws.on('message', (data, isBinary) => {
      const raw = Buffer.isBuffer(data) ? data : Buffer.from(data);
      const item = { isBinary, raw };
      if (!isBinary) {
        item.text = raw.toString('utf8');
        try {
          item.json = JSON.parse(item.text);
        } catch {
          /* not JSON */
        }
      }
      this.items.push(item);
      this._wake();
    });
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString('utf8') };
      this._resolveClosed(this.closeInfo);
      this._wake();
    });
    ws.on('error', () => {
      /* surfaced through close */
    });
  }

  _wake() {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Waits for the first not-yet-consumed frame matching `pred` and consumes it.
   * Rejects after `timeoutMs`, or when the socket closes without a match.
   */
  next(pred = () => true, timeoutMs = 5000, label = 'message') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const idx = this.items.findIndex((it) => pred(it));
        if (idx >= 0) {
          const [it] = this.items.splice(idx, 1);
          done();
          resolve(it);
          return true;
        }
        if (this.closeInfo) {
          done();
          reject(
            new Error(
              `socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${label}; ` +
                `unconsumed: ${this.describe()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}; unconsumed: ${this.describe()}`));
      }, timeoutMs);
      const waiter = () => check();
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      this.waiters.push(waiter);
      check();
    });
  }

  /** Waits for a JSON message matching `pred(json)`; returns the parsed object. */
  async nextJson(pred = () => true, timeoutMs = 5000, label = 'JSON message') {
    const it = await this.next((i) => i.json !== undefined && pred(i.json), timeoutMs, label);
    return it.json;
  }

  ack(ackId, timeoutMs = 5000) {
    return this.nextJson((m) => m.type === 'ack' && m.ackId === ackId, timeoutMs, `ack ${ackId}`);
  }

  groupMessage(group, timeoutMs = 5000) {
    return this.nextJson(
      (m) => m.type === 'message' && m.from === 'group' && m.group === group,
      timeoutMs,
      `group message in ${group}`,
    );
  }

  /** Waits for the close; returns { code, reason }. */
  waitClose(timeoutMs = 5000) {
    return withTimeout(this.closed, timeoutMs, 'socket close');
  }

  /** Asserts that nothing (matching pred) arrives within `ms`. */
  async expectNothing(ms = 500, pred = () => true) {
    await delay(ms);
    const found = this.items.filter(pred);
    if (found.length) {
      throw new Error(`expected no message, got: ${this.describe(found)}`);
    }
  }

  describe(items = this.items) {
    return JSON.stringify(items.map((i) => (i.isBinary ? `<binary ${i.raw.toString('hex')}>` : i.text)));
  }
}

/**
 * Connects a raw JSON-protocol client and waits for its `connected` system message.
 * tokenOptions go to clientToken (port/hub filled in). Returns { ws, q, connected, send(obj) }.
 */
export async function jsonClient(server, hub, tokenOptions = {}, { headers } = {}) {
  const token = clientToken({ port: server.port, hub, key: server.key, ...tokenOptions });
  const { ws, q, protocol } = await openSocket(clientUrl(server.port, hub, token), {
    protocols: [JSON_PROTOCOL],
    headers,
  });
  if (protocol !== JSON_PROTOCOL) {
    ws.terminate();
    throw new Error(`expected subprotocol ${JSON_PROTOCOL}, got ${JSON.stringify(protocol)}`);
  }
  const connected = await q.nextJson(
    (m) => m.type === 'system' && m.event === 'connected',
    5000,
    'connected system message',
  );
  return {
    ws,
    q,
    connected,
    send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
  };
}

/** Connects a simple (no subprotocol) client. */
export async function simpleClient(server, hub, tokenOptions = {}) {
  const token = clientToken({ port: server.port, hub, key: server.key, ...tokenOptions });
  const { ws, q, protocol } = await openSocket(clientUrl(server.port, hub, token));
  return { ws, q, protocol, send: (d) => ws.send(d) };
}

export function closeAll(...clients) {
  for (const c of clients) {
    try {
      (c?.ws ?? c)?.terminate?.();
    } catch {
      /* ignore */
    }
  }
}

/**
 * Proves the server still serves other clients: `sub` must be a JSON client in `group`,
 * `pub` a JSON client allowed to send to it.
 */
let probeCounter = 0;
export async function assertStillWorking(pub, sub, group, label = 'probe') {
  const ackId = 900000 + ++probeCounter;
  const text = `${label}-${ackId}`;
  pub.send({ type: 'sendToGroup', group, dataType: 'text', data: text, ackId });
  const ack = await pub.q.ack(ackId);
  if (ack.success !== true) throw new Error(`bystander publish failed: ${JSON.stringify(ack)}`);
  const msg = await sub.q.nextJson(
    (m) => m.type === 'message' && m.group === group && m.data === text,
    5000,
    `bystander message ${text}`,
  );
  return msg;
}

/** Plain HTTP request helper (node fetch) with a timeout. */
export async function httpRequest(url, init = {}, timeoutMs = 5000) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * A simple client has no `connected` message, so a test cannot otherwise know when the server
 * has put it in its token groups. Publishes probes to `group` from the JSON client `pub` until
 * one reaches the simple client's queue `q`, then sends an end marker and discards every probe
 * (also from the queues in `others`, JSON members of the same group).
 */
let syncCounter = 0;
export async function syncSimpleClient(pub, q, group, { others = [], timeoutMs = 5000 } = {}) {
  const tag = `sync-${++syncCounter}-`;
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (!q.items.some((i) => i.text?.startsWith(tag))) {
    if (Date.now() > deadline) throw new Error(`simple client never received a probe in group ${group}`);
    if (q.closeInfo) throw new Error(`simple client closed (${q.closeInfo.code}) while syncing`);
    pub.send({ type: 'sendToGroup', group, dataType: 'text', data: `${tag}${++n}` });
    await delay(50);
  }
  pub.send({ type: 'sendToGroup', group, dataType: 'text', data: `${tag}end` });
  await q.next((i) => i.text === `${tag}end`, timeoutMs, 'sync end marker');
  q.items = q.items.filter((i) => !i.text?.startsWith(tag));
  // other members of the group (JSON clients' queues) got the probes too: drop them
  for (const o of others) {
    await o.nextJson((m) => m.data === `${tag}end`, timeoutMs, 'sync end marker');
    o.items = o.items.filter((i) => !(typeof i.json?.data === 'string' && i.json.data.startsWith(tag)));
  }
}

// Helpers for the event-handler (webhook) integration tests (webhook-*.test.mjs, spec §8):
// an express app running the official @azure/web-pubsub-express middleware, a raw node:http
// handler for behaviours express cannot produce (failed validation, no answer), the hub config
// that points the server at them, and the ce-signature the server must send (spec §8.4).
//
// Every handler listens on 127.0.0.1 port 0 inside the test process; every wait is bounded.
//
// Run directly, it is a stand-alone greeting handler (for the Python how-to-connect sample test):
//   node js/webhook-helpers.mjs greeter <hub>
// prints `HANDLER_PORT=<port>` once listening; every `message` user event "<name>" is answered
// with the text "Hello, <name>!".
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { WebPubSubEventHandler } from '@azure/web-pubsub-express';
import { withTimeout } from './harness.mjs';

/** Spec §8.4: "sha256=" + lowercase hex HMAC-SHA256(key = UTF-8 access key, data = connectionId). */
export function signatureFor(connectionId, ...keys) {
  return keys
    .map((k) => `sha256=${createHmac('sha256', Buffer.from(k, 'utf8')).update(connectionId, 'utf8').digest('hex')}`)
    .join(',');
}

/** The hubs section of a server config pointing `hub` at one handler (spec §8.1). */
export function hubConfig(hub, urlTemplate, { systemEvents = ['connect', 'connected', 'disconnected'], userEventPattern = '*', groupPresenceEvents } = {}) {
  const handler = { urlTemplate, systemEvents };
  if (userEventPattern !== undefined) handler.userEventPattern = userEventPattern;
  if (groupPresenceEvents !== undefined) handler.groupPresenceEvents = { eventNames: groupPresenceEvents };
  return { hubs: { [hub.toLowerCase()]: { eventHandlers: [handler] } } };
}

/** A list of things that happen, with waits for one matching a predicate. */
export class Log {
  constructor(label) {
    this.label = label;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first item (not consumed) matching pred; rejects after timeoutMs. */
  wait(pred, timeoutMs = 5000, what = 'item') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.items.find(pred);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${this.label}; got: ${this.describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  describe() {
    return JSON.stringify(
      this.items.map((i) => i.describe?.() ?? i),
      (k, v) => (v && v.type === 'Buffer' ? `<hex ${Buffer.from(v.data).toString('hex')}>` : v),
    ).slice(0, 4000);
  }
}

function requestRecord(req, body) {
  return {
    method: req.method,
    url: req.originalUrl ?? req.url,
    headers: req.headers,
    body,
    at: Date.now(),
    header(name) {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    describe() {
      return `${req.method} ${this.url} ce-type=${req.headers['ce-type'] ?? ''} ce-eventname=${req.headers['ce-eventname'] ?? ''}`;
    },
  };
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function closer(server) {
  return () =>
    withTimeout(
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
      3000,
      'closing the test handler',
    ).catch(() => {});
}

/**
 * Starts an express app with WebPubSubEventHandler(hub, options) mounted (spec §8.11).
 * `options` are the SDK's (handleConnect, handleUserEvent, onConnected, onDisconnected, path,
 * allowedEndpoints). onConnected/onDisconnected/handleConnect/handleUserEvent calls are recorded
 * in `events` ({ kind: 'connect'|'connected'|'disconnected'|'joined'|'left'|'user', req, at }) before the test's
 * own callback runs. Without a handleUserEvent in options none is registered (express then answers
 * user events 200 with an empty body), same for handleConnect (200, empty body).
 * Every HTTP request (method, url, headers, raw body) is recorded in `requests`.
 * Resolves { port, base, urlTemplate, requests, events, reconfigure(options), close() }.
 */
export async function startExpressHandler(hub, options = {}, { urlTemplate } = {}) {
  const requests = new Log(`requests to the ${hub} handler`);
  const events = new Log(`events of the ${hub} handler`);
  const record = (kind, req) => events.push({ kind, req, at: Date.now(), describe: () => `${kind} ${req.context?.connectionId}` });
  const build = (opts) => {
    const sdkOptions = { ...opts };
    sdkOptions.onConnected = (req) => {
      record('connected', req);
      opts.onConnected?.(req);
    };
    sdkOptions.onDisconnected = (req) => {
      record('disconnected', req);
      opts.onDisconnected?.(req);
    };
    sdkOptions.onGroupJoined = (req) => {
      record('joined', req);
      opts.onGroupJoined?.(req);
    };
    sdkOptions.onGroupLeft = (req) => {
      record('left', req);
      opts.onGroupLeft?.(req);
    };
    if (opts.handleConnect) {
      sdkOptions.handleConnect = (req, res) => {
        record('connect', req);
        return opts.handleConnect(req, res);
      };
    }
    if (opts.handleUserEvent) {
      sdkOptions.handleUserEvent = (req, res) => {
        record('user', req);
        return opts.handleUserEvent(req, res);
      };
    }
    return new WebPubSubEventHandler(hub, sdkOptions).getMiddleware();
  };
  let middleware = build(options);
  const app = express();
  app.use((req, res, next) => {
    // tap the body without consuming it: the SDK attaches its own 'data' listener right after
    const chunks = [];
    const rec = requestRecord(req, Buffer.alloc(0));
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      rec.body = Buffer.concat(chunks);
      requests.push(rec);
    });
    next();
  });
  app.use((req, res, next) => middleware(req, res, next));
  app.use((req, res) => {
    res.status(404).end('not handled by the WebPubSub middleware');
  });
  const server = http.createServer(app);
  const port = await listen(server);
  const base = `http://127.0.0.1:${port}`;
  return {
    port,
    base,
    urlTemplate: urlTemplate ? urlTemplate.replace('<base>', base) : `${base}/api/webpubsub/hubs/{hub}/`,
    requests,
    events,
    /** Replaces the SDK options (e.g. allowedEndpoints known only once the server runs). */
    reconfigure(newOptions) {
      middleware = build(newOptions);
    },
    close: closer(server),
  };
}

/**
 * A raw node:http handler: `onRequest(rec, res, req)` decides every answer (rec is the recorded
 * request with its full body). Without an answer the request hangs until close().
 * Resolves { port, base, urlTemplate, requests, close() }.
 */
export async function startRawHandler(onRequest) {
  const requests = new Log('requests to the raw handler');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rec = requestRecord(req, Buffer.concat(chunks));
      requests.push(rec);
      onRequest(rec, res, req);
    });
  });
  const port = await listen(server);
  const base = `http://127.0.0.1:${port}`;
  return { port, base, urlTemplate: `${base}/api/webpubsub/hubs/{hub}/`, requests, close: closer(server) };
}

/** Answers an abuse-protection OPTIONS like the express middleware does (spec §8.2). */
export function answerValidation(res) {
  res.writeHead(200, { 'WebHook-Allowed-Origin': '*' });
  res.end();
}

/** Is `rec` a POST of the CloudEvent `ceType` (e.g. 'azure.webpubsub.sys.connect')? */
export function isEvent(rec, ceType) {
  return rec.method === 'POST' && rec.header('ce-type') === ceType;
}

/** Case-insensitive lookup in a connect request's `headers` dictionary (spec §8.5). */
export function dictGet(dict, name) {
  if (!dict) return undefined;
  const key = Object.keys(dict).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : dict[key];
}

// ------------------------------------------------------- stand-alone greeter (Python sample test)

async function greeterMain(hub) {
  const h = await startExpressHandler(hub, {
    handleUserEvent: (req, res) => {
      if (req.context.eventName === 'message') {
        res.success(`Hello, ${req.data}!`, 'text');
      } else {
        res.fail(400, 'unknown event');
      }
    },
  });
  process.stdout.write(`HANDLER_PORT=${h.port}\n`);
  const stop = () => h.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // exit when the parent closes our stdin (the test is gone)
  process.stdin.resume();
  process.stdin.on('end', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === 'greeter') {
  greeterMain(process.argv[3] ?? 'chat');
}

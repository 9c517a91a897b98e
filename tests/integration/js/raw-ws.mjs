// Raw WebSocket client on node `net` for the hardening tests: the upgrade request written by hand
// (so refusals show their status and JSON body), frames crafted byte by byte (fragments, control
// frames, reserved bits, bad UTF-8, lying lengths), and the server's frames parsed as they come.
// Also: a TCP proxy that can stop forwarding (a half-open peer), and /proc readings of the server.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { withTimeout, delay } from './harness.mjs';

export const OP = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa };

/**
 * One client frame, masked as RFC 6455 requires. Options: fin (default true), rsv1, mask
 * (default true), length (a lying payload length in the header).
 */
export function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv1 = false, mask = true, length } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const len = length ?? data.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([header, key, masked]);
}

/**
 * Connects to `port` and sends an upgrade request for `path` (options: protocol, headers, key and
 * version -- null leaves the header out -- and early bytes written with the request). Resolves once the response head
 * arrived: { socket, status, headers, body (refusals: the whole body), frames, next(), closed }.
 * With status 101, `frames` collects the server's frames ({ opcode, fin, payload, text, json,
 * code?, reason? }) and `closed` resolves when the TCP connection ends.
 */
export function rawUpgrade(port, path, { protocol, headers = {}, timeoutMs = 5000, key = randomBytes(16).toString('base64'), version = '13', early } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: localhost:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
    ];
    if (key !== null) lines.push(`Sec-WebSocket-Key: ${key}`);
    if (version !== null) lines.push(`Sec-WebSocket-Version: ${version}`);
    if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    const conn = new RawConnection(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out waiting for the upgrade response of ${path}`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // `early`: bytes sent in the same write as the request (a client that does not wait for 101).
    socket.once('connect', () => socket.write(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), early ?? Buffer.alloc(0)])));
    conn.head.then(
      (head) => {
        clearTimeout(timer);
        Object.assign(conn, head);
        if (conn.status === 101) return resolve(conn);
        // A refusal: the whole body, then the connection ends.
        conn.closed.then(() => {
          conn.body = conn.rest.toString('utf8');
          try {
            conn.json = JSON.parse(conn.body);
          } catch {
            /* not JSON */
          }
          resolve(conn);
        });
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export class RawConnection {
  constructor(socket) {
    this.socket = socket;
    this.frames = [];
    this.rest = Buffer.alloc(0);
    this.waiters = [];
    this.ended = false;
    let resolveHead, rejectHead;
    this.head = new Promise((res, rej) => {
      resolveHead = res;
      rejectHead = rej;
    });
    this.closed = new Promise((res) => socket.once('close', () => {
      this.ended = true;
      rejectHead(new Error('connection closed before the response head'));
      this._wake();
      res();
    }));
    socket.on('error', () => {
      /* surfaced through close */
    });
    let gotHead = false;
    socket.on('data', (chunk) => {
      this.rest = Buffer.concat([this.rest, chunk]);
      if (!gotHead) {
        const end = this.rest.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headText = this.rest.subarray(0, end).toString('latin1');
        this.rest = this.rest.subarray(end + 4);
        gotHead = true;
        const [statusLine, ...fields] = headText.split('\r\n');
        const headers = {};
        for (const f of fields) {
          const i = f.indexOf(':');
          headers[f.slice(0, i).trim().toLowerCase()] = f.slice(i + 1).trim();
        }
        resolveHead({ status: Number(statusLine.split(' ')[1]), headers, statusLine });
        if (Number(statusLine.split(' ')[1]) !== 101) return;
        this.upgraded = true;
      }
      if (this.upgraded) this._parse();
    });
  }

  _parse() {
    for (;;) {
      const b = this.rest;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const f = { fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload: Buffer.from(b.subarray(off, off + len)) };
      if (f.opcode === OP.close && len >= 2) {
        f.code = f.payload.readUInt16BE(0);
        f.reason = f.payload.subarray(2).toString('utf8');
      }
      if (f.opcode === OP.text) {
        f.text = f.payload.toString('utf8');
        try {
          f.json = JSON.parse(f.text);
        } catch {
          /* not JSON */
        }
      }
      this.rest = b.subarray(off + len);
      this.frames.push(f);
      this._wake();
    }
  }

  _wake() {
    for (const w of [...this.waiters]) w();
  }

  send(buf) {
    this.socket.write(buf);
  }

  /** Waits for (and consumes) the first frame matching `pred`. */
  next(pred = () => true, timeoutMs = 5000, label = 'frame') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex(pred);
        if (i >= 0) {
          done();
          resolve(this.frames.splice(i, 1)[0]);
        } else if (this.ended) {
          done();
          reject(new Error(`connection ended while waiting for ${label}; frames: ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}; frames: ${this.describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** The server's close frame: { code, reason }. */
  async closeFrame(timeoutMs = 5000) {
    const f = await this.next((x) => x.opcode === OP.close, timeoutMs, 'close frame');
    return { code: f.code, reason: f.reason };
  }

  /** Waits until the TCP connection has ended. */
  waitEnd(timeoutMs = 5000) {
    return withTimeout(this.closed, timeoutMs, 'TCP connection end');
  }

  describe() {
    return JSON.stringify(this.frames.map((f) => (f.text !== undefined ? f.text : `op${f.opcode}:${f.payload.length}`)).slice(0, 20));
  }

  destroy() {
    this.socket.destroy();
  }
}

/**
 * A TCP proxy to 127.0.0.1:`target`. `cut()` stops forwarding in both directions without closing
 * anything (the peer seems to have vanished: no FIN, no RST). `upstreamClosed` resolves when the
 * server closes its side of the (first) proxied connection.
 */
export async function startProxy(target) {
  const pairs = [];
  let cut = false;
  let resolveUpstreamClosed;
  const upstreamClosed = new Promise((res) => {
    resolveUpstreamClosed = res;
  });
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    pairs.push({ client, upstream });
    client.on('data', (d) => {
      if (!cut) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!cut) client.write(d);
    });
    const closed = () => resolveUpstreamClosed(Date.now());
    upstream.on('end', closed);
    upstream.on('close', closed);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => {
      if (!cut) upstream.destroy();
    });
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return {
    port: server.address().port,
    upstreamClosed,
    cut() {
      cut = true;
    },
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      server.close();
    },
  };
}

// ---------------------------------------------------------------- /proc readings of the server

/** Resident set size (VmRSS) and its peak (VmHWM) of process `pid`, in KiB. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/**
 * Bytes queued in the kernel for the TCP socket whose local and remote ports are given (IPv4
 * loopback, /proc/net/tcp): `tx` written but not yet acknowledged by the peer, `rx` received but
 * not yet read by the application. Null when there is no such socket.
 */
export function tcpQueues(localPort, remotePort) {
  const hex = (port) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    if (fields[1].endsWith(`:${hex(localPort)}`) && fields[2].endsWith(`:${hex(remotePort)}`)) {
      const [tx, rx] = fields[4].split(':').map((v) => parseInt(v, 16));
      return { tx, rx };
    }
  }
  return null;
}

/** Open file descriptors of process `pid`. */
export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `fn` until it returns true; rejects after `timeoutMs` with `label`. */
export async function waitFor(fn, timeoutMs, label, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
    await delay(intervalMs);
  }
}

/**
 * Which sanitizer the binary at `path` was built with: 'address', 'thread' or null. Sanitized
 * builds shadow every allocation (and ASan keeps freed memory in quarantine), so memory bounds
 * measured on release builds do not apply to them.
 */
export function sanitizerOf(path) {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = '';
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) return null;
      const text = carry + chunk.toString('latin1', 0, n);
      if (text.includes('__tsan_init')) return 'thread';
      if (text.includes('__asan_init')) return 'address';
      carry = text.slice(-16);
    }
  } finally {
    closeSync(fd);
  }
}

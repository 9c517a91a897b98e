// A minimal proto3 wire-format writer/reader for the tests of the protobuf subprotocols
// (schema: spec §6.12). Independent of the server's codec on purpose.

function varint(value) {
  let v = BigInt(value);
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

/** Encodes fields: [[number, 'varint', value] | [number, 'bytes', Buffer|string]]. */
export function message(fields) {
  const parts = [];
  for (const [num, kind, value] of fields) {
    if (value === undefined) continue;
    if (kind === 'varint') {
      parts.push(varint((num << 3) | 0), varint(value));
    } else {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
      parts.push(varint((num << 3) | 2), varint(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Parses one message level into { number: [values] } (varints as BigInt, LEN as Buffer). */
export function parse(buf) {
  const fields = {};
  let i = 0;
  const readVarint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const num = tag >> 3;
    const wt = tag & 7;
    let value;
    if (wt === 0) value = readVarint();
    else if (wt === 2) {
      const len = Number(readVarint());
      value = buf.subarray(i, i + len);
      if (value.length !== len) throw new Error('truncated field');
      i += len;
    } else if (wt === 1) {
      value = buf.subarray(i, i + 8);
      i += 8;
    } else if (wt === 5) {
      value = buf.subarray(i, i + 4);
      i += 4;
    } else throw new Error(`wire type ${wt}`);
    (fields[num] ??= []).push(value);
  }
  return fields;
}

const one = (f, n) => (f[n] ? f[n][f[n].length - 1] : undefined);

// ---- client -> service (UpstreamMessage)
export const up = {
  joinGroup: (group, ackId) => message([[6, 'bytes', message([[1, 'bytes', group], [2, 'varint', ackId]])]]),
  leaveGroup: (group, ackId) => message([[7, 'bytes', message([[1, 'bytes', group], [2, 'varint', ackId]])]]),
  // Preview (spec §6.10, §6.8): ttlSeconds, metadata ({key: value}), stream ({streamId, idleTimeoutMs}).
  sendToGroup: (group, data, { ackId, noEcho, ttlSeconds, metadata, stream } = {}) =>
    message([
      [
        1,
        'bytes',
        message([
          [1, 'bytes', group],
          [2, 'varint', ackId],
          [3, 'bytes', data],
          [4, 'varint', noEcho === undefined ? undefined : noEcho ? 1 : 0],
          [5, 'varint', ttlSeconds],
          ...mapEntries(6, metadata),
          [7, 'bytes', stream && message([[1, 'bytes', stream.streamId], [2, 'varint', stream.idleTimeoutMs]])],
        ]),
      ],
    ]),
  event: (event, data, ackId, metadata) =>
    message([[5, 'bytes', message([[1, 'bytes', event], [2, 'bytes', data], [3, 'varint', ackId], ...mapEntries(4, metadata)])]]),
  streamData: (streamId, sequenceId, data) =>
    message([[13, 'bytes', message([[1, 'bytes', streamId], [2, 'varint', sequenceId], [3, 'bytes', data]])]]),
  streamEnd: (streamId, error) =>
    message([
      [
        14,
        'bytes',
        message([
          [1, 'bytes', streamId],
          [2, 'bytes', error && message([[1, 'bytes', error.message], [2, 'bytes', error.userErrorCode]])],
        ]),
      ],
    ]),
  sequenceAck: (id) => message([[8, 'bytes', message([[1, 'varint', id]])]]),
  ping: () => message([[9, 'bytes', Buffer.alloc(0)]]),
};

function mapEntries(number, map) {
  return Object.entries(map ?? {}).map(([k, v]) => [number, 'bytes', message([[1, 'bytes', k], [2, 'bytes', v]])]);
}

function readMap(list) {
  if (!list) return undefined;
  const out = {};
  for (const entry of list) {
    const e = parse(entry);
    out[one(e, 1)?.toString('utf8') ?? ''] = one(e, 2)?.toString('utf8') ?? '';
  }
  return out;
}

function readError(buf) {
  if (!buf) return undefined;
  const e = parse(buf);
  const out = { name: one(e, 1)?.toString('utf8'), message: one(e, 2)?.toString('utf8') };
  if (e[3]) out.userErrorCode = one(e, 3).toString('utf8');
  return out;
}

// MessageData
export const data = {
  text: (s) => message([[1, 'bytes', s]]),
  binary: (b) => message([[2, 'bytes', b]]),
  any: (typeUrl, value) => message([[3, 'bytes', message([[1, 'bytes', typeUrl], [2, 'bytes', value]])]]),
  anyBytes: (typeUrl, value) => message([[1, 'bytes', typeUrl], [2, 'bytes', value]]),
};

function readData(buf) {
  const f = parse(buf);
  if (f[1]) return { kind: 'text', value: one(f, 1).toString('utf8') };
  if (f[2]) return { kind: 'binary', value: Buffer.from(one(f, 2)) };
  if (f[3]) return { kind: 'protobuf', value: Buffer.from(one(f, 3)) };
  if (f[4]) return { kind: 'json', value: one(f, 4).toString('utf8') };
  return { kind: 'none' };
}

// StreamInfo { stream_id = 1; stream_sequence_id = 2; end_of_stream = 3; error = 4 }
function readStream(buf) {
  const s = parse(buf);
  return {
    streamId: one(s, 1)?.toString('utf8') ?? '',
    streamSequenceId: Number(one(s, 2) ?? 0n),
    endOfStream: (one(s, 3) ?? 0n) === 1n,
    error: readError(one(s, 4)),
  };
}

/** Decodes a DownstreamMessage into a plain object. */
export function decodeDownstream(buf) {
  const f = parse(buf);
  if (f[1]) {
    const a = parse(one(f, 1));
    const e = a[3] ? parse(one(a, 3)) : undefined;
    return {
      type: 'ack',
      ackId: Number(one(a, 1) ?? 0n),
      success: (one(a, 2) ?? 0n) === 1n,
      error: e && { name: one(e, 1)?.toString('utf8'), message: one(e, 2)?.toString('utf8') },
    };
  }
  if (f[2]) {
    const d = parse(one(f, 2));
    return {
      type: 'message',
      from: one(d, 1)?.toString('utf8'),
      group: one(d, 2)?.toString('utf8'),
      data: d[3] ? readData(one(d, 3)) : undefined,
      sequenceId: d[4] ? Number(one(d, 4)) : undefined,
      metadata: readMap(d[5]),
      stream: d[6] ? readStream(one(d, 6)) : undefined,
    };
  }
  if (f[3]) {
    const s = parse(one(f, 3));
    if (s[1]) {
      const c = parse(one(s, 1));
      return {
        type: 'system',
        event: 'connected',
        connectionId: one(c, 1)?.toString('utf8'),
        userId: one(c, 2)?.toString('utf8'),
        reconnectionToken: one(c, 3)?.toString('utf8'),
      };
    }
    if (s[2]) return { type: 'system', event: 'disconnected', message: one(parse(one(s, 2)), 2)?.toString('utf8') };
  }
  if (f[4]) return { type: 'pong' };
  if (f[6]) {
    const a = parse(one(f, 6));
    return { type: 'streamAck', streamId: one(a, 1)?.toString('utf8') ?? '', expectedSequenceId: Number(one(a, 2) ?? 0n) };
  }
  if (f[7]) {
    const n = parse(one(f, 7));
    return {
      type: 'streamNack',
      streamId: one(n, 1)?.toString('utf8') ?? '',
      name: one(n, 2)?.toString('utf8'),
      message: one(n, 3)?.toString('utf8'),
      expectedSequenceId: Number(one(n, 4) ?? 0n),
    };
  }
  if (f[8]) {
    const c = parse(one(f, 8));
    return { type: 'streamClosed', streamId: one(c, 1)?.toString('utf8') ?? '', error: readError(one(c, 2)) };
  }
  return { type: 'unknown' };
}

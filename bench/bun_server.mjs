// Benchmark peer: Bun's built-in WebSocket server (a fork of uWebSockets), as a pub/sub server
// that plays our groups with its topics. Run by bench/lib.sh start_bun, never by the server.
//   ws://HOST:PORT/sub/<topic>  WebSocket subscriber of <topic> (no token: Bun validates nothing)
//   POST /pub/<topic>           publishes the request body to <topic> as one text message
//   a text message from a subscriber is published to its own topic, the sender included (the
//   small-groups scenario: members publish, like sendToGroup with echo)
// Each message is wrapped in the envelope a json.webpubsub.azure.v1 subscriber receives from a
// group ({"type":"message","from":"group",...}), so that both servers write frames of the same
// size; BUN_ENVELOPE=0 publishes the bare body.
// Env: BUN_PORT (default 18510), BUN_HOST (default 127.0.0.1).
const port = Number(process.env.BUN_PORT ?? 18510);
const hostname = process.env.BUN_HOST ?? "127.0.0.1";
const envelope = process.env.BUN_ENVELOPE !== "0";

const server = Bun.serve({
  hostname,
  port,
  reusePort: false,
  async fetch(req, server) {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/sub/")) {
      if (server.upgrade(req, { data: { topic: path.slice(5) } })) return undefined;
      return new Response("upgrade expected", { status: 400 });
    }
    if (path.startsWith("/pub/") && req.method === "POST") {
      const topic = path.slice(5);
      const body = await req.text();
      server.publish(
        topic,
        envelope ? JSON.stringify({ type: "message", from: "group", group: topic, dataType: "text", data: body }) : body,
      );
      return new Response(null, { status: 202 });
    }
    return new Response("not found", { status: 404 });
  },
  websocket: {
    // No compression (ours has none); no idle timeout, so that idle runs keep every connection.
    perMessageDeflate: false,
    idleTimeout: 0,
    open(ws) {
      ws.subscribe(ws.data.topic);
    },
    message(ws, message) {
      const topic = ws.data.topic;
      server.publish(
        topic,
        envelope
          ? JSON.stringify({ type: "message", from: "group", group: topic, dataType: "text", data: String(message) })
          : message,
      );
    },
  },
});
console.log(`bun ${Bun.version} listening on ${server.hostname}:${server.port}`);

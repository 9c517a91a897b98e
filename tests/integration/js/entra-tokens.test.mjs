// Microsoft Entra tokens for local development (issue 18, item 3), as Microsoft's emulator's
// WebPubSub:AllowUnvalidatedEntraTokens: with --allow-unvalidated-entra-tokens the server SDKs
// built with a TokenCredential work unchanged (over https: --tls-self-signed), send, and get
// client URLs from :generateToken; without the switch they get 401 with a JSON error body; the
// switch is refused on a non-loopback address and announced loudly.
//
// The credential is what DefaultAzureCredential hands the SDK, minus a real signature: an
// RS256 JWT with a kid, for the audience the SDK's scope names, with Entra's claims.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { startServer, stopAll, makeTmpDir, withTimeout, delay, INTEGRATION_DIR, SERVER_BIN } from './harness.mjs';

after(async () => {
  await stopAll();
});

function run(cmd, args, { env = {}, input, timeoutMs = 30000 } = {}) {
  let child;
  return withTimeout(
    new Promise((resolve) => {
      child = spawn(cmd, args, { cwd: INTEGRATION_DIR, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
      child.stdin.end(input ?? '');
    }),
    timeoutMs,
    `${cmd} ${args.join(' ').slice(0, 60)}`,
  ).catch((err) => {
    child.kill('SIGKILL'); // a process that hangs must not outlive the test
    throw err;
  });
}

/** An unsigned Entra-shaped access token (RS256 header with a kid; Entra v1 claims). */
export function entraToken(aud, { lifetimeSeconds = 3600, notBeforeOffset = -60 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const header = { typ: 'JWT', alg: 'RS256', x5t: 'dGVzdC14NXQ', kid: 'dGVzdC14NXQ' };
  const payload = {
    aud, iss: `https://sts.windows.net/${tid}/`, iat: now - 60, nbf: now + notBeforeOffset,
    exp: now + lifetimeSeconds, aio: 'test', appid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
    appidacr: '0', idp: `https://sts.windows.net/${tid}/`, oid: '00000000-0000-0000-0000-0000000000aa',
    rh: 'test', sub: '00000000-0000-0000-0000-0000000000aa', tid, uti: 'test', ver: '1.0',
  };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(payload)}.${Buffer.from('no signature is checked').toString('base64url')}`;
}

// An app using the JS server SDK with a TokenCredential, and the client SDK with the URL the
// server SDK got from :generateToken. Prints the scopes it was asked for and what it received.
const JS_APP = `
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import { WebPubSubClient } from '@azure/web-pubsub-client';
${entraToken.toString().replace('export ', '')}
const scopes = new Set();
const credential = {
  async getToken(requested) {
    for (const s of [].concat(requested)) scopes.add(s);
    const scope = [].concat(requested)[0];
    const aud = scope.replace(/\\/\\.default$/, '');
    return { token: entraToken(aud), expiresOnTimestamp: Date.now() + 3600 * 1000 };
  },
};
const service = new WebPubSubServiceClient(process.env.ENDPOINT, credential, 'entrahub');
const { url } = await service.getClientAccessToken({ userId: 'entra-user', roles: ['webpubsub.joinLeaveGroup'] });
console.log('URL ' + url.split('?')[0]);
const client = new WebPubSubClient(url);
const got = [];
const both = new Promise((resolve) => {
  const add = (data) => { got.push(data); if (got.length === 2) resolve(); };
  client.on('server-message', (e) => add('server:' + e.message.data));
  client.on('group-message', (e) => add('group:' + e.message.data));
});
let userId;
client.on('connected', (e) => { userId = e.userId; });
await client.start();
await client.joinGroup('g');
await service.sendToAll('to all', { contentType: 'text/plain' });
await service.group('g').sendToAll('to the group', { contentType: 'text/plain' });
await both;
console.log('USER ' + userId);
console.log('RECEIVED ' + got.sort().join(' | '));
console.log('SCOPES ' + [...scopes].join(','));
await client.stop();
process.exit(0);
`;

// The same with the Python SDK (azure-core's BearerTokenCredentialPolicy) and websockets.
const PY_APP = `
import asyncio, json, os, ssl, time, base64, websockets
from azure.core.credentials import AccessToken
from azure.messaging.webpubsubservice import WebPubSubServiceClient

def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b'=').decode()

class UnsignedEntraCredential:
    scopes = []
    def get_token(self, *scopes, **kwargs):
        self.scopes.extend(scopes)
        now = int(time.time())
        aud = scopes[0][:-len('/.default')] if scopes[0].endswith('/.default') else scopes[0]
        token = '.'.join([b64({'typ': 'JWT', 'alg': 'RS256', 'kid': 'k'}),
                          b64({'aud': aud, 'iss': 'https://sts.windows.net/t/', 'iat': now,
                               'nbf': now, 'exp': now + 3600, 'oid': 'o', 'tid': 't'}),
                          'c2lnbmF0dXJl'])
        return AccessToken(token, now + 3600)

credential = UnsignedEntraCredential()
service = WebPubSubServiceClient(endpoint=os.environ['ENDPOINT'], hub='pyentra', credential=credential)
url = service.get_client_access_token(user_id='py-entra')['url']
async def main():
    ctx = ssl.create_default_context(cafile=os.environ['CERT'])
    async with websockets.connect(url, ssl=ctx) as ws:
        service.send_to_all('python with a TokenCredential', content_type='text/plain')
        print('RECEIVED', await asyncio.wait_for(ws.recv(), 10))
asyncio.run(main())
print('SCOPES', ','.join(credential.scopes))
`;

/** The server's stderr once it matches `re` (stdout, read first, may arrive before it). */
async function stderrMatching(server, re, timeoutMs = 3000) {
  for (const end = Date.now() + timeoutMs; Date.now() < end && !re.test(server.stderr()); ) await delay(20);
  return server.stderr();
}

async function tlsServer(extraArgs) {
  const dir = makeTmpDir('entra-');
  const server = await startServer({ args: ['--tls-self-signed', '--tls-self-signed-dir', dir, ...extraArgs] });
  const cert = path.join(dir, 'localhost-cert.pem');
  return { server, cert, dir };
}

function restRequest(port, method, target, token) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = https.request(
        `https://localhost:${port}${target}`,
        { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' }, rejectUnauthorized: false },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        },
      );
      req.once('error', reject);
      req.end('x');
    }),
    5000,
    `${method} ${target}`,
  );
}

test('--allow-unvalidated-entra-tokens: the JS and Python server SDKs with a TokenCredential send, get client URLs, clients connect', async () => {
  const { server, cert, dir } = await tlsServer(['--allow-unvalidated-entra-tokens']);
  // Announced loudly, with what it means.
  const warning = await stderrMatching(server, /WITHOUT checking its signature/);
  assert.match(warning, /WARNING: --allow-unvalidated-entra-tokens is on/);
  assert.match(warning, /WITHOUT checking its signature/);
  const endpoint = `https://localhost:${server.port}`;

  const appFile = path.join(dir, 'entra-app.mjs');
  writeFileSync(appFile, JS_APP);
  const js = await run('node', [appFile], { env: { NODE_EXTRA_CA_CERTS: cert, ENDPOINT: endpoint } });
  assert.equal(js.code, 0, `${js.out}\n${server.output()}`);
  assert.match(js.out, new RegExp(`URL wss://localhost:${server.port}/client/hubs/entrahub`));
  assert.match(js.out, /USER entra-user/);
  assert.match(js.out, /RECEIVED group:to the group \| server:to all/);
  assert.match(js.out, /SCOPES https:\/\/webpubsub\.azure\.com\/\.default/);

  const py = await run('/usr/bin/python3', ['-'], { env: { REQUESTS_CA_BUNDLE: cert, CERT: cert, ENDPOINT: endpoint }, input: PY_APP });
  assert.equal(py.code, 0, `${py.out}\n${server.output()}`);
  assert.match(py.out, /RECEIVED python with a TokenCredential/);
  assert.match(py.out, /SCOPES https:\/\/webpubsub\.azure\.com\/\.default/);

  // Access-key tokens keep working beside them: the same app with the connection string.
  const withKey = JS_APP.replace(
    "new WebPubSubServiceClient(process.env.ENDPOINT, credential, 'entrahub')",
    "new WebPubSubServiceClient(process.env.CONN, 'entrahub')",
  );
  const keyFile = path.join(dir, 'key-app.mjs');
  writeFileSync(keyFile, withKey);
  const keyed = await run('node', [keyFile], {
    env: { NODE_EXTRA_CA_CERTS: cert, CONN: `Endpoint=${endpoint};AccessKey=${server.key};Version=1.0;` },
  });
  assert.equal(keyed.code, 0, keyed.out);
  assert.match(keyed.out, /RECEIVED group:to the group \| server:to all/);
  assert.match(keyed.out, /SCOPES $/m, 'no token was asked of the unused credential');

  // Only audience and lifetime are checked: another audience, or an expired token, is refused.
  const target = '/api/hubs/entrahub/:send?api-version=2024-12-01';
  assert.equal((await restRequest(server.port, 'POST', target, entraToken('https://webpubsub.azure.com'))).status, 202);
  const other = await restRequest(server.port, 'POST', target, entraToken('https://management.azure.com'));
  assert.equal(other.status, 401);
  const expired = await restRequest(server.port, 'POST', target, entraToken('https://webpubsub.azure.com', { lifetimeSeconds: -3600 }));
  assert.equal(expired.status, 401);
  assert.match(JSON.parse(expired.body).message, /expired/);
  await server.stop();
});

test('without the switch, Entra tokens get 401 with a JSON error body that names the switch', async () => {
  const { server, cert, dir } = await tlsServer([]);
  assert.doesNotMatch(server.stderr(), /allow-unvalidated-entra-tokens/);
  const r = await restRequest(server.port, 'POST', '/api/hubs/entrahub/:send?api-version=2024-12-01', entraToken('https://webpubsub.azure.com'));
  assert.equal(r.status, 401);
  assert.match(r.headers['content-type'], /application\/json/);
  const body = JSON.parse(r.body);
  assert.equal(body.code, 'Unauthorized');
  assert.match(body.message, /--allow-unvalidated-entra-tokens/);
  const token = await restRequest(server.port, 'POST', '/api/hubs/entrahub/:generateToken?api-version=2024-12-01', entraToken('https://webpubsub.azure.com'));
  assert.equal(token.status, 401);

  const appFile = path.join(dir, 'entra-app.mjs');
  writeFileSync(appFile, JS_APP);
  const js = await run('node', [appFile], { env: { NODE_EXTRA_CA_CERTS: cert, ENDPOINT: `https://localhost:${server.port}` } });
  assert.notEqual(js.code, 0, js.out);
  assert.match(js.out, /401|Unauthorized/);
  await server.stop();
});

test('the switch is refused on a non-loopback address unless that is said explicitly; a reminder without TLS', async () => {
  const refused = await run(SERVER_BIN, [
    '--host', '0.0.0.0', '--port', '0', '--access-key', 'a-real-secret-key-0123456789abcdef', '--allow-unvalidated-entra-tokens',
  ], { timeoutMs: 10000 });
  assert.equal(refused.code, 2, refused.out);
  assert.match(refused.out, /refusing --allow-unvalidated-entra-tokens on '0\.0\.0\.0'/);
  assert.match(refused.out, /--allow-unvalidated-entra-tokens-on-public-address/);

  const viaEnv = await run(SERVER_BIN, ['--host', '0.0.0.0', '--port', '0', '--access-key', 'a-real-secret-key-0123456789abcdef'], {
    env: { WPS_ALLOW_UNVALIDATED_ENTRA_TOKENS: 'true' },
    timeoutMs: 10000,
  });
  assert.equal(viaEnv.code, 2, viaEnv.out);

  // On loopback over plain http it starts, and says the SDKs need https.
  const plain = await startServer({ args: ['--allow-unvalidated-entra-tokens'] });
  const said = await stderrMatching(plain, /--tls-self-signed/);
  assert.match(said, /WARNING: --allow-unvalidated-entra-tokens is on/);
  assert.match(said, /only over https: add --tls-self-signed/);
  await plain.stop();
});

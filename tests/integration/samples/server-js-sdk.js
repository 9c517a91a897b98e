// The JavaScript "Connect server to Azure Web PubSub" sample of how-to-connect.md, run by
// js/rest-samples.test.mjs with only {ConnectionString} filled in. Adaptations, each needed to run
// it against @azure/web-pubsub 1.2.0 over http:// (everything else is the document's code):
//   - `{ allowInsecureConnection: true }`: the SDK refuses http:// endpoints without it;
//   - getAuthenticationToken was renamed getClientAccessToken in the current SDK;
//   - the document's top-level `await` is not valid in a CommonJS file: wrapped in main();
//   - the document leaves `id` undefined: it is defined here;
//   - the token's URL is printed, so the test can check that it connects.
const { WebPubSubServiceClient } = require('@azure/web-pubsub');
let serviceClient = new WebPubSubServiceClient("{ConnectionString}", 'chat', { allowInsecureConnection: true });

async function main() {
  const id = 'sample-user';
  let token = await serviceClient.getClientAccessToken({ userId: id });
  console.log(token.url);
  await serviceClient.sendToAll("Hello", { contentType: 'text/plain'});
  await serviceClient.sendToAll({"hello": "world"});
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

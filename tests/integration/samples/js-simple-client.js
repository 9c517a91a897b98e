const WebSocket = require('ws');
const client = new WebSocket("{Client_Access_URL}");
client.on('open', () => {
    client.on('message', msg => console.log(msg));
});

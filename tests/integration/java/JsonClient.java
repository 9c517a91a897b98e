// javax.websocket (JSR 356) PubSub client (subprotocol json.webpubsub.azure.v1), the Java
// counterpart of the "PubSub WebSocket client" sample of how-to-connect.md:
//   java JsonClient <Client_Access_URL> <group>
// prints "Connected <negotiated subprotocol>", then every received message; after the
// service's `connected` system message it joins <group> (ackId 1) and, once that is acked,
// publishes the text "Hello world from Java" to it (ackId 2). Runs until the server closes.
import java.net.URI;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;
import javax.websocket.ClientEndpointConfig;
import javax.websocket.CloseReason;
import javax.websocket.ContainerProvider;
import javax.websocket.Endpoint;
import javax.websocket.EndpointConfig;
import javax.websocket.MessageHandler;
import javax.websocket.Session;
import javax.websocket.WebSocketContainer;

public class JsonClient extends Endpoint {
    private static final CountDownLatch closed = new CountDownLatch(1);
    private static final Pattern CONNECTED = Pattern.compile("\"event\"\\s*:\\s*\"connected\"");
    private static final Pattern ACK = Pattern.compile("\"type\"\\s*:\\s*\"ack\"");
    private static final Pattern ACK_ID_1 = Pattern.compile("\"ackId\"\\s*:\\s*1\\b");
    private final String group;

    JsonClient(String group) {
        this.group = group;
    }

    @Override
    public void onOpen(Session session, EndpointConfig config) {
        System.out.println("Connected " + session.getNegotiatedSubprotocol());
        session.addMessageHandler(new MessageHandler.Whole<String>() {
            @Override
            public void onMessage(String message) {
                System.out.println(message);
                try {
                    if (CONNECTED.matcher(message).find()) {
                        session.getBasicRemote().sendText(
                            "{\"type\":\"joinGroup\",\"group\":\"" + group + "\",\"ackId\":1}");
                    } else if (ACK.matcher(message).find() && ACK_ID_1.matcher(message).find()) {
                        session.getBasicRemote().sendText(
                            "{\"type\":\"sendToGroup\",\"group\":\"" + group
                            + "\",\"dataType\":\"text\",\"data\":\"Hello world from Java\",\"ackId\":2}");
                    }
                } catch (Exception e) {
                    System.err.println("Error: " + e);
                }
            }
        });
    }

    @Override
    public void onClose(Session session, CloseReason reason) {
        System.out.println("Closed: " + reason.getCloseCode().getCode() + " " + reason.getReasonPhrase());
        closed.countDown();
    }

    @Override
    public void onError(Session session, Throwable error) {
        System.err.println("Error: " + error);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java JsonClient <Client_Access_URL> <group>");
            System.exit(2);
        }
        WebSocketContainer container = ContainerProvider.getWebSocketContainer();
        ClientEndpointConfig config = ClientEndpointConfig.Builder.create()
            .preferredSubprotocols(List.of("json.webpubsub.azure.v1"))
            .build();
        container.connectToServer(new JsonClient(args[1]), config, URI.create(args[0]));
        closed.await();
        System.exit(0);
    }
}

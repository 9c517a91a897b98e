// javax.websocket (JSR 356) equivalent of the "simple WebSocket client" samples of
// how-to-connect.md (the JavaScript and C# ones): connect to the Client Access URL given as
// argv[0] without a subprotocol, print "Connected", then print every received message
// (binary messages decoded as UTF-8, like the C# sample), until the server closes the socket.
//
// Compile and run against Debian's Jetty 9 implementation (package libjetty9-extra-java):
//   CP=$(grep -v "^#" jars.txt | sed "s|^|/usr/share/java/|" | paste -sd:)
//   javac -cp "$CP" -d out SimpleClient.java && java -cp "out:$CP" SimpleClient "<Client_Access_URL>"
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import javax.websocket.ClientEndpoint;
import javax.websocket.CloseReason;
import javax.websocket.ContainerProvider;
import javax.websocket.OnClose;
import javax.websocket.OnError;
import javax.websocket.OnMessage;
import javax.websocket.OnOpen;
import javax.websocket.Session;
import javax.websocket.WebSocketContainer;

@ClientEndpoint
public class SimpleClient {
    private static final CountDownLatch closed = new CountDownLatch(1);

    @OnOpen
    public void onOpen(Session session) {
        System.out.println("Connected");
    }

    @OnMessage
    public void onText(String message) {
        System.out.println(message);
    }

    @OnMessage
    public void onBinary(ByteBuffer message) {
        byte[] bytes = new byte[message.remaining()];
        message.get(bytes);
        System.out.println(new String(bytes, StandardCharsets.UTF_8));
    }

    @OnClose
    public void onClose(Session session, CloseReason reason) {
        System.out.println("Closed: " + reason.getCloseCode().getCode() + " " + reason.getReasonPhrase());
        closed.countDown();
    }

    @OnError
    public void onError(Session session, Throwable error) {
        System.err.println("Error: " + error);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java SimpleClient <Client_Access_URL>");
            System.exit(2);
        }
        WebSocketContainer container = ContainerProvider.getWebSocketContainer();
        container.connectToServer(SimpleClient.class, URI.create(args[0]));
        closed.await();
        System.exit(0);
    }
}

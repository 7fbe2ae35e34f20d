// demo-java: the lab's Java service, for the JDWP and jcmd paths. Its state lives in memory only,
// in static fields a debugger reads: when it started, the requests it served and the notes it was
// sent. GET /state?note=TEXT remembers TEXT and answers the state as JSON.
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

public class Demo {
    static final long startedAtMillis = System.currentTimeMillis();
    static int requestCount = 0;
    static long ticks = 0;
    static String lastNote = "";
    static final List<String> notes = new ArrayList<>();

    static synchronized String handleState(String query) {
        requestCount++;
        if (query != null && query.startsWith("note=")) {
            lastNote = URLDecoder.decode(query.substring(5), StandardCharsets.UTF_8);
            notes.add(lastNote);
        }
        return "{\"startedAtMillis\":" + startedAtMillis + ",\"requestCount\":" + requestCount + ",\"ticks\":" + ticks
            + ",\"lastNote\":\"" + lastNote.replace("\\", "\\\\").replace("\"", "\\\"") + "\",\"notes\":" + notes.size() + "}";
    }

    static void serve(HttpExchange exchange) throws IOException {
        byte[] body = handleState(exchange.getRequestURI().getRawQuery()).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("content-type", "application/json");
        exchange.sendResponseHeaders(exchange.getRequestURI().getPath().equals("/state") ? 200 : 404, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    public static void main(String[] args) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(8091), 0);
        server.createContext("/", Demo::serve);
        server.start();
        System.out.println("demo-java listening on 8091");
        for (;;) {
            Thread.sleep(1000);
            synchronized (Demo.class) {
                ticks++;
            }
        }
    }
}

package io.raftlun.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.raftlun.consensus.HostPort;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's admin HTTP API and {@code /metrics}, on a port of its own (never the iSCSI port).
 * Every path but {@code /metrics} needs the cluster's token as {@code Authorization: Bearer}.
 * Handlers answer JSON; failures are a JSON object with an {@code error} message, never a trace.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    /** One API call: the request body, the path's remainder after the route, and the query. */
    public record Request(String method, String path, Map<String, String> query, String body) {
    }

    /** What a handler answers: an HTTP status and a JSON body. */
    public record Response(int status, String json) {
        public static Response ok(String json) {
            return new Response(200, json);
        }

        public static Response error(int status, String message) {
            return new Response(status, "{\"error\":" + Json.quote(message) + "}");
        }
    }

    /** Thrown by handlers for requests they refuse; becomes a JSON error with this status. */
    public static final class ApiException extends RuntimeException {
        private final int status;

        public ApiException(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    @FunctionalInterface
    public interface Handler {
        Response handle(Request request) throws Exception;
    }

    private record Route(String method, String prefix, Handler handler) {
    }

    private final HttpServer server;
    private final ExecutorService executor;
    private final byte[] token;
    private final List<Route> routes = new ArrayList<>();

    private AdminServer(HttpServer server, ExecutorService executor, String token) {
        this.server = server;
        this.executor = executor;
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Binds the admin port. {@code metrics} supplies the Prometheus exposition for {@code /metrics}.
     *
     * @throws IllegalStateException naming the address when it cannot be bound
     */
    public static AdminServer start(InetSocketAddress address, String token, Supplier<String> metrics) {
        HttpServer server;
        try {
            server = HttpServer.create(address, 64);
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen on " + HostPort.of(address) + " for the admin API: " + e.getMessage(), e);
        }
        ExecutorService executor = Executors.newFixedThreadPool(4, runnable -> {
            Thread thread = new Thread(runnable, "admin-http");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(executor);
        AdminServer admin = new AdminServer(server, executor, token);
        server.createContext("/metrics", exchange -> admin.metrics(exchange, metrics));
        server.createContext("/", admin::dispatch);
        server.start();
        log.info("admin API and metrics on http://{}:{}", server.getAddress().getHostString(), server.getAddress().getPort());
        return admin;
    }

    /** Adds an API route: requests whose path starts with {@code prefix} and whose method matches. */
    public AdminServer route(String method, String prefix, Handler handler) {
        synchronized (routes) {
            routes.add(new Route(method, prefix, handler));
            routes.sort((a, b) -> b.prefix.length() - a.prefix.length()); // longest prefix wins
        }
        return this;
    }

    public InetSocketAddress localAddress() {
        return server.getAddress();
    }

    private void metrics(HttpExchange exchange, Supplier<String> metrics) throws IOException {
        try (exchange) {
            byte[] body = metrics.get().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private void dispatch(HttpExchange exchange) throws IOException {
        try (exchange) {
            Response response;
            try {
                response = answer(exchange);
            } catch (ApiException e) {
                response = Response.error(e.status(), e.getMessage());
            } catch (Exception e) {
                log.warn("admin request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
                response = Response.error(500, "internal error: " + e.getMessage());
            }
            byte[] body = response.json().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(response.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private Response answer(HttpExchange exchange) throws Exception {
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        String presented = authorization != null && authorization.startsWith("Bearer ")
                ? authorization.substring("Bearer ".length()).trim() : "";
        if (!MessageDigest.isEqual(token, presented.getBytes(StandardCharsets.UTF_8))) {
            return Response.error(401, authorization == null
                    ? "this API needs the cluster's admin token (Authorization: Bearer ...)"
                    : "wrong admin token");
        }
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        Route route = null;
        synchronized (routes) {
            for (Route candidate : routes) {
                if (path.startsWith(candidate.prefix) && candidate.method.equals(method)) {
                    route = candidate;
                    break;
                }
            }
        }
        if (route == null) {
            return Response.error(404, "no such API: " + method + " " + path);
        }
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        return route.handler.handle(new Request(method, path.substring(route.prefix.length()),
                query(exchange.getRequestURI().getRawQuery()), body));
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> query = new java.util.LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return query;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = java.net.URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            query.put(key, value);
        }
        return query;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}

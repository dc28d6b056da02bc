package io.raftlun.cli;

import io.raftlun.target.ConfigFiles;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The nodes' admin API as every raftlun command reaches it (the CLI's admin commands, the local
 * cluster, the benchmark): JSON over HTTP with the cluster's bearer token. A failure is an
 * {@link AdminException} carrying the exit status the command ends with.
 */
public final class AdminClient {

    /** A node's admin API: its name (for messages) and host:port. */
    public record Endpoint(String name, String admin) {
    }

    /** A refused or failed call; {@link #exitCode()} is what the command exits with. */
    public static final class AdminException extends IOException {
        public static final int REFUSED = 1;
        public static final int UNREACHABLE = 3;
        public static final int WRONG_TOKEN = 4;

        private final int exitCode;

        public AdminException(int exitCode, String message) {
            super(message);
            this.exitCode = exitCode;
        }

        public int exitCode() {
            return exitCode;
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final List<Endpoint> nodes;
    private final String token;

    /** A client that asks {@code nodes} in order, going to the next only when one cannot be reached. */
    public AdminClient(List<Endpoint> nodes, String token) {
        this.nodes = List.copyOf(nodes);
        this.token = token;
    }

    /** A client of one other node of the same cluster (same token). */
    public AdminClient at(Endpoint node) {
        return new AdminClient(List.of(node), token);
    }

    /**
     * A client of the first of the nodes that answers, for a series of calls that must reach the
     * same node (a scrub is followed on the node that runs it).
     */
    public AdminClient firstReachable() throws AdminException, InterruptedException {
        return onFirstReachable(node -> {
            call(node, token, "GET", "/api/status", null, Duration.ofSeconds(10));
            return at(node);
        });
    }

    /** The name of the node this client asks first. */
    public String firstName() {
        return nodes.get(0).name();
    }

    public Map<?, ?> get(String path) throws AdminException, InterruptedException {
        return call("GET", path, null, Duration.ofSeconds(10));
    }

    /** POSTs {@code body} (as JSON; null for none). Config changes wait for the cluster, so the timeout is long. */
    public Map<?, ?> post(String path, Object body) throws AdminException, InterruptedException {
        return call("POST", path, body, Duration.ofSeconds(60));
    }

    private Map<?, ?> call(String method, String path, Object body, Duration timeout)
            throws AdminException, InterruptedException {
        String json = body == null ? null : ConfigFiles.JSON.writeValueAsString(body);
        return onFirstReachable(node -> call(node, token, method, path, json, timeout));
    }

    /** A call to one node. */
    private interface NodeCall<T> {
        T on(Endpoint node) throws AdminException, InterruptedException;
    }

    /**
     * {@code call} on the first node that can be reached. A node that refused the connection never
     * saw the request, so asking the next one cannot repeat a change; any other failure is final.
     */
    private <T> T onFirstReachable(NodeCall<T> call) throws AdminException, InterruptedException {
        List<String> unreachable = new ArrayList<>();
        for (Endpoint node : nodes) {
            try {
                return call.on(node);
            } catch (AdminException e) {
                if (e.exitCode() != AdminException.UNREACHABLE) {
                    throw e;
                }
                unreachable.add(e.getMessage());
            }
        }
        throw new AdminException(AdminException.UNREACHABLE, String.join("; ", unreachable));
    }

    /**
     * One admin API call to {@code node}; the JSON answer, or an {@link AdminException}: the node's
     * own message when it refused, "unreachable" when no connection could be made, "wrong token".
     */
    public static Map<?, ?> call(Endpoint node, String token, String method, String path, String json,
                                 Duration timeout) throws AdminException, InterruptedException {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(new URI("http://" + node.admin() + path))
                    .timeout(timeout).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(json)).build();
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new AdminException(AdminException.REFUSED, "bad admin address " + node.admin());
        }
        HttpResponse<String> response;
        try {
            response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new AdminException(AdminException.UNREACHABLE, node.name() + " (" + node.admin()
                    + ") is unreachable: " + (e.getMessage() == null ? "connection refused" : e.getMessage()));
        } catch (IOException e) {
            throw new AdminException(AdminException.UNREACHABLE, node.name() + " (" + node.admin()
                    + ") did not answer: " + e);
        }
        Map<?, ?> answer;
        try {
            answer = ConfigFiles.JSON.readValue(response.body(), Map.class);
        } catch (RuntimeException e) {
            throw new AdminException(AdminException.UNREACHABLE, node.name() + " (" + node.admin()
                    + ") answered something other than raftlun's admin API (HTTP " + response.statusCode() + ")");
        }
        if (response.statusCode() == 401) {
            throw new AdminException(AdminException.WRONG_TOKEN, node.name() + " refused the admin token: "
                    + answer.get("error") + " (the token is in the cluster directory's admin.token, or a node's "
                    + "DATA_DIR/admin.token)");
        }
        if (response.statusCode() != 200) {
            throw new AdminException(AdminException.REFUSED, String.valueOf(answer.get("error")));
        }
        return answer;
    }
}

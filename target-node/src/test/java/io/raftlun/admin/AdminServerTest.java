package io.raftlun.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.metrics.NodeMetrics;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerTest {

    private final HttpClient http = HttpClient.newHttpClient();
    private NodeMetrics metrics;
    private AdminServer server;
    private String base;

    @BeforeEach
    void start() {
        metrics = new NodeMetrics("node1");
        server = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), "s3cret-token", metrics::scrape);
        server.route("GET", "/v1/echo/", request -> AdminServer.Response.ok("{\"rest\":" + Json.quote(request.path())
                + "}"));
        server.route("POST", "/v1/fail", request -> {
            throw new AdminServer.ApiException(409, "target tid 1 already exists");
        });
        base = "http://127.0.0.1:" + server.localAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.close();
        metrics.close();
    }

    private HttpResponse<String> send(String method, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, HttpRequest.BodyPublishers.ofString(""));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsNeedNoTokenAndCarryTheNodeTag() throws Exception {
        HttpResponse<String> response = send("GET", "/metrics", null);
        assertEquals(200, response.statusCode());
        assertTrue(response.body().contains("jvm_memory_used_bytes{"), response.body());
        assertTrue(response.body().contains("node=\"node1\""));
    }

    @Test
    void apiWithoutTokenIsRefused() throws Exception {
        HttpResponse<String> response = send("GET", "/v1/echo/x", null);
        assertEquals(401, response.statusCode());
        assertTrue(response.body().contains("admin token"), response.body());
    }

    @Test
    void apiWithWrongTokenIsRefused() throws Exception {
        HttpResponse<String> response = send("GET", "/v1/echo/x", "guess");
        assertEquals(401, response.statusCode());
        assertEquals("{\"error\":\"wrong admin token\"}", response.body());
    }

    @Test
    void routesByLongestPrefixAndMethod() throws Exception {
        HttpResponse<String> response = send("GET", "/v1/echo/targets/1", "s3cret-token");
        assertEquals(200, response.statusCode());
        assertEquals("{\"rest\":\"targets/1\"}", response.body());
        assertEquals(404, send("DELETE", "/v1/echo/targets/1", "s3cret-token").statusCode());
    }

    @Test
    void refusalsBecomeJsonErrorsWithTheirStatus() throws Exception {
        HttpResponse<String> response = send("POST", "/v1/fail", "s3cret-token");
        assertEquals(409, response.statusCode());
        assertEquals("{\"error\":\"target tid 1 already exists\"}", response.body());
    }
}

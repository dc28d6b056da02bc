package io.raftlun.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.recipe.Shell;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetConfig;
import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The shipped monitoring ({@code grafana/}) against a real Prometheus scraping three nodes under
 * I/O from QEMU's initiator: the config and rules pass promtool, every query of every dashboard
 * panel and alert returns data, stopping a node makes the volume-degraded alert pending, and the
 * node back catches up and the volume reads healthy again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class PrometheusMonitoringTest {

    static final String IQN = "iqn.2026-11.io.raftlun:monitoring";
    static final String VOLUME = "vol-monitoring";
    /** What the test's config scrapes and evaluates at, instead of the shipped 15 s, to keep it short. */
    static final String INTERVAL = "1s";
    /** Every query's range or rate interval in place of Grafana's {@code $__rate_interval}. */
    static final String RANGE = "1m";
    static final Pattern TEMPLATE_VARIABLE = Pattern.compile("\\$\\{?\\w+}?");
    /** An alert's condition: its query, then one comparison with a number, at the end. */
    static final Pattern CONDITION = Pattern.compile("^(.*\\S)\\s*(==|!=|>=|<=|>|<)\\s*(bool\\s+)?-?[0-9.e]+\\s*$",
            Pattern.DOTALL);
    static final Pattern RAFTLUN_METRIC = Pattern.compile("\\braftlun_\\w+");

    final Path grafana = Path.of("").toAbsolutePath().getParent().resolve("grafana");
    final List<Node> nodes = new ArrayList<>();
    final List<NodeOptions> options = new ArrayList<>();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Process prometheus;
    String prometheusUrl;
    final List<Process> initiators = new ArrayList<>();
    volatile boolean loading = true;
    Thread load;

    @BeforeAll
    void startClusterPrometheusAndLoad(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("prometheus") && onPath("promtool"),
                "prometheus is not installed (Debian package prometheus; .ci/run installs it)");
        assumeTrue(onPath("qemu-io"), "qemu-io is not installed (Debian package qemu-utils)");
        options.addAll(ThreeNodeClusterTest.threeNodes(dir, "monitoring", Duration.ofMillis(1000), true));
        for (NodeOptions node : options) {
            nodes.add(Node.start(node));
        }
        nodes.get(0).catalog().update(config -> config.with(new TargetConfig.Target(1, IQN, null,
                List.of(new TargetConfig.Lun(1, VOLUME, 256L << 20, 512, null, false)), List.of(TargetConfig.ALL),
                List.of(), null)));
        for (Node node : nodes) {
            ThreeNodeClusterTest.waitFor(() -> node.catalog().find(IQN).isPresent(), "every node serves the target");
        }
        // Micrometer registers the GC pause timer at a node's first collection, and a test JVM with a
        // large heap may not collect for minutes: one collection gives the GC panel its series.
        System.gc();
        startPrometheus(dir.resolve("prometheus"));
        startLoad(dir);
        waitForQuery("count(up{job=\"raftlun\"} == 1) == 3", "Prometheus scrapes all three nodes");
        waitForQuery("sum(raftlun_volume_io_seconds_count{op=\"write\"}) > 20"
                + " and sum(raftlun_volume_io_seconds_count{op=\"unmap\"}) > 0", "writes and unmaps were counted");
        waitForQuery("count_over_time(up{job=\"raftlun\"}[" + RANGE + "]) > 10", "enough samples for rates");
        waitForQuery("count(count by (node) (rate(jvm_gc_pause_seconds_sum[" + RANGE + "]))) == 3", "every node's GC pauses have a rate");
    }

    @AfterAll
    void stopEverything() throws InterruptedException {
        loading = false;
        if (load != null) {
            load.join(5000);
        }
        for (Process initiator : initiators) {
            stop(initiator);
        }
        if (prometheus != null) {
            stop(prometheus);
        }
        for (Node node : nodes) {
            if (node != null) {
                node.close();
            }
        }
    }

    @Test
    @Order(1)
    void shippedConfigAndRulesPassPromtool() throws Exception {
        Shell.run("promtool", "check", "config", grafana.resolve("prometheus/prometheus.yml").toString())
                .orFail("promtool check config");
        Shell.run("promtool", "check", "rules", grafana.resolve("prometheus/alerts.yml").toString())
                .orFail("promtool check rules");
    }

    /**
     * Each panel's query and each template variable's, with the variables standing for every
     * value, and each alert's query without its threshold, must return data; each raftlun metric
     * named anywhere must be one some node exports.
     */
    @Test
    @Order(2)
    void everyDashboardAndAlertQueryReturnsData() throws Exception {
        Map<String, String> queries = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(grafana.resolve("dashboards"))) {
            for (Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                collectDashboardQueries(file.getFileName().toString(), ConfigFiles.JSON.readTree(file.toFile()),
                        queries);
            }
        }
        int dashboardQueries = queries.size();
        assertTrue(dashboardQueries >= 40, "the dashboards' queries were found: " + queries.keySet());
        Set<String> alerts = new TreeSet<>();
        for (JsonNode group : api("/api/v1/rules").get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                String name = rule.get("name").asString();
                Matcher condition = CONDITION.matcher(rule.get("query").asString());
                assertTrue(condition.matches(), "alert " + name + " is a query compared with a threshold: "
                        + rule.get("query").asString());
                queries.put("alert " + name, condition.group(1));
                alerts.add(name);
            }
        }
        assertEquals(Set.of("RaftlunVolumeUnavailable", "RaftlunVolumeDegraded", "RaftlunNoLeader",
                "RaftlunReplicaLagGrowing", "RaftlunCorruptionFound", "RaftlunNodeDown", "RaftlunDiskNearlyFull",
                "RaftlunLoginFailuresSpike", "RaftlunScrubFoundCorruption"), alerts,
                "the alerts Prometheus loaded from the shipped rules");

        Set<String> exported = new TreeSet<>();
        api("/api/v1/label/__name__/values").forEach(name -> exported.add(name.asString()));
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> query : queries.entrySet()) {
            String expression = concrete(query.getValue());
            Matcher metric = RAFTLUN_METRIC.matcher(expression);
            while (metric.find()) {
                String name = metric.group();
                if (!exported.contains(name)) {
                    problems.add(query.getKey() + ": no node exports " + name);
                }
            }
            JsonNode result = query(expression).get("result");
            if (result.isEmpty()) {
                problems.add(query.getKey() + ": no data for " + expression);
            }
        }
        System.out.printf("monitoring: %d dashboard queries and %d alert queries evaluated, %d without data%n",
                dashboardQueries, alerts.size(), problems.size());
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    /** A node stopped: its volume's leader misses a replica, and the alert says so within its window. */
    @Test
    @Order(3)
    void stoppingANodeMakesTheVolumeDegradedAlertPending() throws Exception {
        assertTrue(query("min by (volume) (raftlun_volume_health) == 0").get("result").size() == 1,
                "the volume is healthy before: " + query("raftlun_volume_health"));
        long start = System.nanoTime();
        Node stopped = nodes.set(2, null);
        stopped.close();
        long deadline = start + TimeUnit.SECONDS.toNanos(60); // the rule's "for": the alert fires by 2x that
        String state = null;
        while (state == null && System.nanoTime() < deadline) {
            Thread.sleep(250);
            for (JsonNode alert : api("/api/v1/alerts").get("alerts")) {
                if (alert.get("labels").get("alertname").asString().equals("RaftlunVolumeDegraded")
                        && alert.get("labels").get("volume").asString().equals(VOLUME)) {
                    state = alert.get("state").asString();
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("monitoring: RaftlunVolumeDegraded %s %.1f s after node3 stopped%n", state, seconds);
        assertTrue(state != null, "RaftlunVolumeDegraded pending within 60 s of the stop; health now: "
                + query("raftlun_volume_health"));
        assertEquals(1, query("up{job=\"raftlun\"} == 0").get("result").size(), "the node-down query names the node");
    }

    /**
     * The stopped node back: the leader's lag figure for it shows the entries it missed, then its
     * catching up, and the volume reads healthy again.
     */
    @Test
    @Order(4)
    void restartedNodeCatchesUpAndTheVolumeIsHealthyAgain() throws Exception {
        assumeTrue(nodes.get(2) == null, "node3 was stopped by the test before");
        String lag = "max(raftlun_raft_follower_lag_entries{group=\"" + VOLUME + "\", follower=\"node3\"})";
        waitForQuery(lag + " > 0", "the leader counts the entries node3 missed");
        double missed = value(lag);
        long start = System.nanoTime();
        nodes.set(2, Node.start(options.get(2)));
        waitForQuery(lag + " < " + Math.max(1, missed / 2) + " and on() min(raftlun_volume_health{volume=\""
                + VOLUME + "\"}) == 0", "node3 caught up and the volume is healthy");
        System.out.printf("monitoring: node3 missed %.0f entries, caught up and volume healthy %.1f s after restart%n",
                missed, (System.nanoTime() - start) / 1e9);
    }

    // ---------------------------------------------------------------- Prometheus

    /** The value of a query that returns one sample. */
    private double value(String expression) throws Exception {
        JsonNode result = query(expression).get("result");
        assertEquals(1, result.size(), expression + ": " + result);
        return Double.parseDouble(result.get(0).get("value").get(1).asString());
    }

    private void startPrometheus(Path dir) throws Exception {
        Files.createDirectories(dir);
        String config = Files.readString(grafana.resolve("prometheus/prometheus.yml"));
        for (int i = 0; i < 3; i++) {
            InetSocketAddress admin = nodes.get(i).adminAddress();
            config = replaceOnce(config, "127.0.0." + (i + 1) + ":9260",
                    admin.getAddress().getHostAddress() + ":" + admin.getPort());
        }
        config = replaceOnce(config, "scrape_interval: 15s", "scrape_interval: " + INTERVAL);
        config = replaceOnce(config, "evaluation_interval: 15s", "evaluation_interval: " + INTERVAL);
        config = replaceOnce(config, "- alerts.yml", "- " + grafana.resolve("prometheus/alerts.yml"));
        Path file = dir.resolve("prometheus.yml");
        Files.writeString(file, config);
        int port = ThreeNodeClusterTest.freePort("127.0.0.1");
        prometheusUrl = "http://127.0.0.1:" + port;
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + file,
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
                "--log.level=warn")
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!ready()) {
            if (System.nanoTime() > deadline || !prometheus.isAlive()) {
                throw new AssertionError("prometheus did not start:\n" + Files.readString(dir.resolve("prometheus.log")));
            }
            Thread.sleep(200);
        }
    }

    /** The shipped file must still hold what the test fills in, or the test would check something else. */
    private static String replaceOnce(String text, String shipped, String replacement) {
        assertTrue(text.contains(shipped), "the shipped prometheus.yml contains " + shipped);
        return text.replace(shipped, replacement);
    }

    private boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(prometheusUrl + "/-/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private JsonNode query(String expression) throws Exception {
        return api("/api/v1/query?query=" + urlEncoded(expression));
    }

    private static String urlEncoded(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }

    /** The {@code data} of a Prometheus API answer; a query Prometheus refuses fails the test with its error. */
    private JsonNode api(String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(prometheusUrl + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode answer = ConfigFiles.JSON.readTree(response.body());
        if (!"success".equals(answer.path("status").asString())) {
            throw new AssertionError("Prometheus refused " + java.net.URLDecoder.decode(path, StandardCharsets.UTF_8)
                    + ": " + response.body());
        }
        return answer.get("data");
    }

    private void waitForQuery(String expression, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (query(expression).get("result").isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what + " (" + expression + ")");
            }
            Thread.sleep(250);
        }
    }

    // ---------------------------------------------------------------- dashboards

    /** Every panel query (rows' nested panels too) and every template variable's query of a dashboard. */
    private static void collectDashboardQueries(String dashboard, JsonNode node, Map<String, String> queries) {
        if (node.isObject()) {
            if (node.has("targets") && node.get("targets").isArray()) {
                for (JsonNode target : node.get("targets")) {
                    if (target.has("expr")) {
                        queries.put(dashboard + " panel '" + node.path("title").asString() + "' "
                                + target.path("refId").asString(), target.get("expr").asString());
                    }
                }
            }
            if ("query".equals(node.path("type").asString()) && node.has("query") && node.has("name")) {
                Matcher values = Pattern.compile("label_values\\((.+),\\s*(\\w+)\\)")
                        .matcher(node.get("query").path("query").asString());
                assertTrue(values.matches(), dashboard + " variable " + node.get("name") + " uses label_values");
                queries.put(dashboard + " variable " + node.get("name").asString(),
                        "count by (" + values.group(2) + ") (" + values.group(1) + ")");
            }
        }
        for (JsonNode child : node) {
            collectDashboardQueries(dashboard, child, queries);
        }
    }

    /** Grafana's variables made concrete: every range the test's, every template variable "all". */
    static String concrete(String expression) {
        String ranged = expression.replace("$__rate_interval", RANGE).replace("$__interval", RANGE)
                .replace("$__range", RANGE);
        return TEMPLATE_VARIABLE.matcher(ranged).replaceAll(".*");
    }

    // ---------------------------------------------------------------- load

    /**
     * Two sessions of QEMU's initiator through two nodes' portals, writing, reading back, unmapping
     * and flushing a few times a second until the test ends: I/O, latency and live sessions to see.
     */
    private void startLoad(Path dir) throws IOException {
        List<Writer> commands = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            InetSocketAddress portal = nodes.get(i).portal();
            Process initiator = new ProcessBuilder("qemu-io", "-f", "raw", "-d", "unmap",
                    "iscsi://" + portal.getAddress().getHostAddress() + ":" + portal.getPort() + "/" + IQN + "/1")
                    .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-io-" + i + ".log").toFile()).start();
            initiators.add(initiator);
            commands.add(new OutputStreamWriter(initiator.getOutputStream(), StandardCharsets.UTF_8));
        }
        load = new Thread(() -> {
            try {
                for (int round = 0; loading; round++) {
                    for (int i = 0; i < commands.size(); i++) {
                        Writer out = commands.get(i);
                        long offset = (i * 64L + round % 64) << 20;
                        out.write("write -P 0x" + Integer.toHexString(0x10 + round % 200) + " " + offset + " 256k\n");
                        out.write("read " + offset + " 256k\n");
                        out.write("discard " + (offset + (128 << 10)) + " 64k\n");
                        out.write("flush\n");
                        out.flush();
                    }
                    Thread.sleep(200);
                }
                for (Writer out : commands) {
                    out.write("quit\n");
                    out.close();
                }
            } catch (IOException | InterruptedException e) {
                // an initiator gone (its node stopped) or the test ending: the load is over
            }
        }, "monitoring-load");
        load.setDaemon(true);
        load.start();
    }

    private static void stop(Process process) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}

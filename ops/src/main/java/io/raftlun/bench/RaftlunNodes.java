package io.raftlun.bench;

import io.raftlun.cli.AdminClient;
import io.raftlun.cli.LocalCluster;
import io.raftlun.cli.NodeConfigFile;
import io.raftlun.node.AdminToken;
import io.raftlun.target.ConfigFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * raftlun as the benchmark runs it: node processes started from this very jar, exactly as an
 * operator would run {@code raftlun node}, each with its own data directory.
 */
final class RaftlunNodes implements TargetUnderTest {

    static final String IQN = "iqn.2026-11.io.raftlun.bench:raftlun";
    /** The single node's and the three-node cluster's names in reports. */
    static final String SINGLE = "raftlun-rf1";
    static final String SINGLE_WITHOUT_METRICS = "raftlun-rf1-no-metrics";
    /** A single node whose portal polls for the next command (see {@code raftlun node --busy-poll-us}). */
    static final String SINGLE_BUSY_POLL = "raftlun-rf1-busy-poll";
    static final int BUSY_POLL_MICROS = 50;
    /** A lone node's admin port is its portal's plus this: two lone nodes can run side by side. */
    private static final int ADMIN_PORT_OFFSET = 1000;
    static final String CLUSTER = "raftlun-rf3";

    private final String name;
    private String host;
    private final int port;
    private final List<Process> nodes;
    private final List<Path> dataDirs = new ArrayList<>();
    private final List<String> adminAddresses = new ArrayList<>(); // host:port of each node's admin API
    private final List<List<String>> commands = new ArrayList<>(); // each cluster node's, to start it again
    private final List<Path> logs = new ArrayList<>();
    private NodeConfigFile.Cluster clusterConfig; // a cluster's, for a node added to it
    private int raftPort;

    private RaftlunNodes(String name, String host, int port, List<Process> nodes) {
        this.name = name;
        this.host = host;
        this.port = port;
        this.nodes = nodes;
    }

    /**
     * One node serving one thin LUN of {@code sizeBytes} (replication factor 1), named {@code name},
     * started with {@code nodeOptions} besides (e.g. {@code --no-metrics}, to measure what collecting
     * them costs).
     */
    static RaftlunNodes single(String name, Path workDir, String host, int port, long sizeBytes,
                               List<String> nodeOptions) throws IOException, InterruptedException {
        return single(name, workDir, host, port, sizeBytes, nodeOptions, -1);
    }

    /** {@link #single}, the node's process on CPU {@code cpu} only (negative: on any). */
    static RaftlunNodes single(String name, Path workDir, String host, int port, long sizeBytes,
                               List<String> nodeOptions, int cpu) throws IOException, InterruptedException {
        Path dataDir = Files.createDirectories(workDir.resolve(name));
        List<String> command = new ArrayList<>(LocalCluster.javaCommand());
        command.addAll(List.of("node", "--data-dir", dataDir.toString(), "--portal", host + ":" + port,
                "--admin", host + ":" + (port + ADMIN_PORT_OFFSET), "--target", IQN, "--lun", "1:" + sizeBytes));
        command.addAll(nodeOptions);
        Path log = workDir.resolve(name + ".log");
        Process node = Processes.start(log, Processes.onCpu(cpu, command));
        RaftlunNodes target = new RaftlunNodes(name, host, port, List.of(node));
        target.dataDirs.add(dataDir);
        target.adminAddresses.add(host + ":" + (port + ADMIN_PORT_OFFSET));
        try {
            Processes.waitForPort(host, port, Duration.ofSeconds(60));
            return target;
        } catch (IOException e) {
            target.close();
            throw new IOException(e.getMessage() + " (see " + log + ")", e);
        }
    }

    /**
     * Three nodes on 127.0.0.1-3 (portal {@code port} on each, Raft on {@code raftPort}, admin API
     * on {@code raftPort + 1}), one thin LUN replicated to all three (replication factor 3). The
     * initiator uses the portal of the volume's leader, the path ALUA reports active/optimized and
     * multipath initiators use. {@code electionTimeoutMs} null: the nodes' default.
     */
    static RaftlunNodes cluster(Path workDir, int port, int raftPort, long sizeBytes, Integer electionTimeoutMs)
            throws IOException, InterruptedException {
        List<NodeConfigFile.Cluster.Member> members = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            members.add(new NodeConfigFile.Cluster.Member("node" + i, "127.0.0." + i + ":" + raftPort));
        }
        NodeConfigFile.Cluster cluster = new NodeConfigFile.Cluster(java.util.UUID.randomUUID().toString(), members,
                3, electionTimeoutMs);
        RaftlunNodes target = new RaftlunNodes(CLUSTER, "127.0.0.1", port, new ArrayList<>());
        target.clusterConfig = cluster;
        target.raftPort = raftPort;
        deleteTree(workDir.resolve("raftlun-rf3")); // a new cluster each round: an old one's groups are not its own
        try {
            for (int i = 1; i <= 3; i++) {
                target.startClusterNode(workDir, i, cluster,
                        i == 1 ? List.of("--target", IQN, "--lun", "1:" + sizeBytes) : List.of());
            }
            Processes.waitForPort("127.0.0.1", port, Duration.ofSeconds(90)); // opens once the LUN exists
            target.host = "127.0.0." + target.volumeLeader(Duration.ofSeconds(30)).substring("node".length());
            return target;
        } catch (IOException e) {
            target.close();
            throw new IOException(e.getMessage() + " (see " + workDir + "/raftlun-rf3-node*.log)", e);
        }
    }

    /**
     * Starts cluster node {@code number} on 127.0.0.{@code number} (portal {@code port}, admin API
     * on {@code raftPort + 1}) with {@code cluster} in its config and {@code extra} options after it.
     */
    private void startClusterNode(Path workDir, int number, NodeConfigFile.Cluster cluster, List<String> extra)
            throws IOException {
        String name = "node" + number;
        String host = "127.0.0." + number;
        Path dir = Files.createDirectories(workDir.resolve("raftlun-rf3/" + name));
        Path config = dir.resolve("node.json");
        String admin = host + ":" + (raftPort + 1);
        ConfigFiles.write(config, new NodeConfigFile(name, dir.resolve("data").toString(), host + ":" + port, admin,
                null, cluster));
        List<String> command = new ArrayList<>(LocalCluster.javaCommand());
        command.addAll(List.of("node", "--config", config.toString()));
        command.addAll(extra);
        dataDirs.add(dir.resolve("data"));
        adminAddresses.add(admin);
        commands.add(command);
        logs.add(workDir.resolve("raftlun-rf3-" + name + ".log"));
        nodes.add(Processes.start(logs.get(logs.size() - 1), command));
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    /** The node leading the LUN's volume, as node 1 reports it once it knows. */
    private String volumeLeader(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                Map<?, ?> cluster = (Map<?, ?>) status(0).get("cluster");
                for (Object volume : (List<?>) cluster.get("volumes")) {
                    if (((Map<?, ?>) volume).get("leader") instanceof String leader) {
                        return leader;
                    }
                }
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the cluster's volume has no leader after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(200);
        }
    }

    /**
     * The index (1 or 2) of a node that replicates the LUN's volume without leading it; never node 1,
     * which was started with the LUN to create and answers the status questions.
     */
    int volumeFollower() throws IOException, InterruptedException {
        return "node2".equals(volumeLeader(Duration.ofSeconds(30))) ? 2 : 1;
    }

    /** Stops node {@code index} (from 0) as an operator would (SIGTERM, the node shuts down cleanly). */
    void stopNode(int index) throws InterruptedException {
        Processes.stop(nodes.get(index));
    }

    /** Starts node {@code index} (from 0) again with the command it first ran, its output added to its log. */
    void restartNode(int index) throws IOException {
        nodes.set(index, Processes.startAppending(logs.get(index), commands.get(index)));
    }

    /**
     * Adds node 4 on 127.0.0.4 to the cluster, as {@code raftlun cluster add-node} does: started
     * with the cluster's config marked joining, then made a member of the meta group through node
     * 1. Returns its index (3); it holds no replica until one is rebuilt on it.
     */
    int addNode(Path workDir) throws IOException, InterruptedException {
        int index = nodes.size();
        String name = "node" + (index + 1);
        String host = "127.0.0." + (index + 1);
        List<NodeConfigFile.Cluster.Member> members = new ArrayList<>(clusterConfig.members());
        members.add(new NodeConfigFile.Cluster.Member(name, host + ":" + raftPort));
        startClusterNode(workDir, index + 1, new NodeConfigFile.Cluster(clusterConfig.id(), members,
                clusterConfig.replicationFactor(), clusterConfig.electionTimeoutMs(), null, true), List.of());
        Processes.waitForPort(host, raftPort + 1, Duration.ofSeconds(90));
        // a membership change: on a loaded machine it takes longer than a status question
        admin(0, "POST", "/api/members/add?name=" + name + "&raft=" + host + ":" + raftPort, Duration.ofSeconds(90));
        return index;
    }

    /** The name of the LUN's volume, as node 1 reports it. */
    String volumeName() throws IOException, InterruptedException {
        List<?> volumes = (List<?>) ((Map<?, ?>) status(0).get("cluster")).get("volumes");
        if (volumes.isEmpty()) {
            throw new IOException("node1 reports no volume");
        }
        return (String) ((Map<?, ?>) volumes.get(0)).get("volume");
    }

    /** Has node {@code index} rebuild a replica of {@code volume} from the volume's leader, unlimited in rate. */
    void startRebuild(int index, String volume) throws IOException, InterruptedException {
        admin(index, "POST", "/api/rebuild?volume=" + java.net.URLEncoder.encode(volume,
                java.nio.charset.StandardCharsets.UTF_8), Duration.ofSeconds(30));
    }

    /** Node {@code index}'s rebuild of {@code volume} as /api/rebuilds reports it; null when it reports none. */
    Map<?, ?> rebuild(int index, String volume) throws IOException, InterruptedException {
        for (Object r : (List<?>) admin(index, "GET", "/api/rebuilds").get("rebuilds")) {
            if (volume.equals(((Map<?, ?>) r).get("volume"))) {
                return (Map<?, ?>) r;
            }
        }
        return null;
    }

    /**
     * The LUN's volume's {@code key} ({@code commitIndex}, {@code appliedIndex}) as node {@code index}
     * (from 0) reports it; -1 while the node does not answer or has no replica running yet.
     */
    long volumeIndex(int index, String key) throws InterruptedException {
        try {
            Map<?, ?> cluster = (Map<?, ?>) status(index).get("cluster");
            for (Object volume : (List<?>) cluster.get("volumes")) {
                if (((Map<?, ?>) volume).get(key) instanceof Number value) {
                    return value.longValue();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not up yet
        }
        return -1;
    }

    /** Node {@code index}'s (from 0) /api/status. */
    Map<?, ?> status(int index) throws IOException, InterruptedException {
        return admin(index, "GET", "/api/status");
    }

    /** Switches node 1's recording of I/O metrics on or off (see {@link MetricsCost}). */
    void recordMetrics(boolean on) throws IOException, InterruptedException {
        admin(0, "POST", "/api/metrics/recording?on=" + on);
    }

    private Map<?, ?> admin(int index, String method, String path) throws IOException, InterruptedException {
        return admin(index, method, path, Duration.ofSeconds(3));
    }

    private Map<?, ?> admin(int index, String method, String path, Duration timeout)
            throws IOException, InterruptedException {
        String token = Files.readString(dataDirs.get(index).resolve(AdminToken.FILE)).trim();
        return AdminClient.call(new AdminClient.Endpoint("node" + (index + 1), adminAddresses.get(index)), token,
                method, path, null, timeout);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String portal() {
        return host + ":" + port;
    }

    @Override
    public String iqn() {
        return IQN;
    }

    @Override
    public int lun() {
        return 1;
    }

    @Override
    public long residentBytes() {
        return nodes.stream().mapToLong(p -> Processes.residentBytes(p.pid())).max().orElse(0);
    }

    @Override
    public long cpuNanos() {
        return nodes.stream().mapToLong(p -> Processes.cpuNanos(p.pid())).sum();
    }

    @Override
    public long compilerNanos() {
        return nodes.stream().mapToLong(p -> Processes.compilerNanos(p.pid())).sum();
    }

    @Override
    public void close() throws InterruptedException {
        for (Process node : nodes) {
            Processes.stop(node);
        }
    }
}

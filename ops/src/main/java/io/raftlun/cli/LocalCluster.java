package io.raftlun.cli;

import io.raftlun.node.AdminToken;
import io.raftlun.target.ConfigFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A cluster of node processes on this machine, kept in one directory: {@code cluster.json} lists
 * the nodes; each node has {@code nodeN/node.json} (its config), {@code nodeN/data/},
 * {@code nodeN/node.log} and, while it runs, {@code nodeN/node.pid}. The admin token is
 * {@code admin.token} (readable by its owner only).
 */
public final class LocalCluster {

    /**
     * Node JVM settings: bounded heap and direct memory, so a node stays well under 1 GiB. G1's
     * regions are 4 MiB rather than the 1 MiB it picks for this heap: a 1 MiB write's log entry
     * is then an ordinary object, not a humongous one allocated in old space (measured on a demo
     * cluster, 1 MiB QD8 writes: cluster CPU per write 27 ms against 34 ms, medians of six runs).
     */
    public static final List<String> JVM_OPTIONS = List.of("-Xms128m", "-Xmx512m", "-XX:MaxDirectMemorySize=384m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=50", "-XX:G1HeapRegionSize=4m");

    /** Default Raft port of a node (iSCSI 3260 and admin 9260 are the others). */
    static final int DEFAULT_RAFT_PORT = 9270;

    /** One node of the cluster, paths relative to the cluster directory; raft is null for a lone node. */
    record Member(String name, String portal, String admin, String raft, String config, String dataDir,
                  String pidFile, String log) {
        AdminClient.Endpoint endpoint() {
            return new AdminClient.Endpoint(name, admin);
        }
    }

    /** The nodes, and for a replicated cluster its id and replication factor. */
    record Layout(List<Member> nodes, String clusterId, Integer replicationFactor) {
    }

    /**
     * The layout of an {@code n}-node cluster on this machine: node i on 127.0.0.i with the given
     * ports (Linux routes all of 127/8 to loopback, so each node looks like a host of its own).
     * A single node gets no Raft address: it serves local volumes.
     */
    static List<Member> members(int n, int port, int adminPort, int raftPort) {
        List<Member> members = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            String host = "127.0.0." + i;
            String name = "node" + i;
            members.add(new Member(name, host + ":" + port, host + ":" + adminPort,
                    n == 1 ? null : host + ":" + raftPort, name + "/node.json", name + "/data", name + "/node.pid",
                    name + "/node.log"));
        }
        return members;
    }

    private final Path dir;
    private final Layout layout;

    private LocalCluster(Path dir, Layout layout) {
        this.dir = dir;
        this.layout = layout;
    }

    /** The directory given, else $RAFTLUN_DIR, else ./run/demo. */
    static Path directory(Path given) {
        if (given != null) {
            return given.toAbsolutePath();
        }
        String env = System.getenv("RAFTLUN_DIR");
        return Path.of(env != null && !env.isBlank() ? env : "run/demo").toAbsolutePath();
    }

    static Optional<LocalCluster> find(Path dir) {
        Path file = dir.resolve("cluster.json");
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(new LocalCluster(dir, ConfigFiles.read(file, Layout.class)));
    }

    static LocalCluster create(Path dir, List<Member> members, int replicationFactor) throws IOException {
        Files.createDirectories(dir);
        boolean replicated = members.size() > 1;
        String clusterId = replicated ? java.util.UUID.randomUUID().toString() : null;
        NodeConfigFile.Cluster cluster = replicated ? new NodeConfigFile.Cluster(clusterId,
                members.stream().map(m -> new NodeConfigFile.Cluster.Member(m.name(), m.raft())).toList(),
                replicationFactor, null) : null;
        String token = AdminToken.loadOrCreate(dir.resolve(AdminToken.FILE));
        for (Member member : members) {
            Path data = dir.resolve(member.dataDir());
            Files.createDirectories(data);
            Path nodeToken = data.resolve(AdminToken.FILE);
            if (!Files.exists(nodeToken)) {
                Files.writeString(nodeToken, token + "\n");
                Files.setPosixFilePermissions(nodeToken, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            }
            ConfigFiles.write(dir.resolve(member.config()), new NodeConfigFile(member.name(),
                    data.toString(), member.portal(), member.admin(), null, cluster));
        }
        Layout layout = new Layout(members, clusterId, replicated ? replicationFactor : null);
        ConfigFiles.write(dir.resolve("cluster.json"), layout);
        return new LocalCluster(dir, layout);
    }

    /**
     * Adds node N+1 (on 127.0.0.N+1, the ports of node 1) to the directory: its config names the
     * cluster and every member with itself; the other nodes' configs list it too, so every node
     * agrees on the members (and their portal group tags) at the next start. It is not started, nor
     * a member of the cluster's Raft groups yet.
     */
    LocalCluster addMember() throws IOException {
        if (!replicated()) {
            throw new IllegalArgumentException("the cluster in " + dir + " is a lone node: nodes are added to clusters");
        }
        int n = members().size() + 1;
        Member first = members().get(0);
        Member added = members(n, Addresses.parse(first.portal(), 3260).getPort(),
                Addresses.parse(first.admin(), 9260).getPort(), Addresses.parse(first.raft(), DEFAULT_RAFT_PORT).getPort())
                .get(n - 1);
        List<Member> nodes = new ArrayList<>(members());
        nodes.add(added);
        NodeConfigFile template = ConfigFiles.read(path(first.config()), NodeConfigFile.class);
        NodeConfigFile.Cluster cluster = new NodeConfigFile.Cluster(layout.clusterId(),
                nodes.stream().map(m -> new NodeConfigFile.Cluster.Member(m.name(), m.raft())).toList(),
                template.cluster().replicationFactor(), template.cluster().electionTimeoutMs(),
                template.cluster().floatingPortal());
        Path data = path(added.dataDir());
        Files.createDirectories(data);
        Path nodeToken = data.resolve(AdminToken.FILE);
        Files.writeString(nodeToken, token() + "\n");
        Files.setPosixFilePermissions(nodeToken, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        for (Member member : members()) {
            NodeConfigFile config = ConfigFiles.read(path(member.config()), NodeConfigFile.class);
            ConfigFiles.write(path(member.config()), new NodeConfigFile(config.name(), config.dataDir(), config.portal(),
                    config.admin(), config.targets(), cluster, config.floatingDevice(), config.busyPollMicros()));
        }
        ConfigFiles.write(path(added.config()), new NodeConfigFile(added.name(), data.toString(), added.portal(),
                added.admin(), null, new NodeConfigFile.Cluster(cluster.id(), cluster.members(),
                        cluster.replicationFactor(), cluster.electionTimeoutMs(), cluster.floatingPortal(), true)));
        Layout next = new Layout(nodes, layout.clusterId(), layout.replicationFactor());
        ConfigFiles.write(dir.resolve("cluster.json"), next);
        return new LocalCluster(dir, next);
    }

    /** The member called {@code name}, or a one-line error naming the members. */
    Member member(String name) {
        return members().stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node " + name + " in " + dir
                        + " (nodes: " + members().stream().map(Member::name).toList() + ")"));
    }

    /** The first member whose process runs and answers, to send cluster-wide calls to. */
    Member anyRunning() {
        for (Member member : members()) {
            if (process(member).isPresent()) {
                try {
                    get(member, "/api/status");
                    return member;
                } catch (IOException e) {
                    // try the next one
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        throw new IllegalArgumentException("no node of the cluster in " + dir + " is running");
    }

    Path dir() {
        return dir;
    }

    boolean replicated() {
        return layout.clusterId() != null;
    }

    /** Refuses to go on while any node of the cluster runs. */
    void requireStopped() {
        for (Member member : members()) {
            var running = process(member);
            if (running.isPresent()) {
                throw new IllegalStateException("a cluster is already running in " + dir + " (node " + member.name()
                        + ", pid " + running.get().pid() + "); stop it with: raftlun cluster down --dir " + dir);
            }
        }
    }

    /**
     * Starts every node (each with {@code extraArguments.apply(member)}), all before waiting for any,
     * since a cluster's nodes need a majority of each other to start; then waits until each portal
     * answers and, in a replicated cluster, until the cluster has a leader and every volume too.
     */
    void startAll(java.util.function.Function<Member, List<String>> extraArguments, Duration timeout)
            throws IOException, InterruptedException {
        Map<Member, Process> started = new java.util.LinkedHashMap<>();
        for (Member member : members()) {
            started.put(member, start(member, extraArguments.apply(member)));
        }
        for (Map.Entry<Member, Process> node : started.entrySet()) {
            awaitReady(node.getKey(), node.getValue(), timeout);
        }
        if (replicated()) {
            awaitLeaders(members().get(0), timeout);
        }
    }

    /**
     * Stops every running node: SIGTERM (initiators logged out, data synced), SIGKILL after
     * {@code timeoutSeconds}. Returns how many were running.
     */
    int stopAll(int timeoutSeconds) throws IOException, InterruptedException {
        List<Map.Entry<Member, ProcessHandle>> running = new ArrayList<>();
        for (Member member : members()) {
            Optional<ProcessHandle> process = process(member);
            if (process.isEmpty()) {
                Files.deleteIfExists(path(member.pidFile()));
            } else {
                process.get().destroy(); // all at once: the cluster stops together
                running.add(Map.entry(member, process.get()));
            }
        }
        for (Map.Entry<Member, ProcessHandle> node : running) {
            ProcessHandle handle = node.getValue();
            try {
                handle.onExit().get(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS);
                System.out.println("stopped " + node.getKey().name() + " (pid " + handle.pid() + ")");
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                handle.destroyForcibly();
                try {
                    handle.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException ignored) {
                    // reported below either way
                }
                System.out.println("killed " + node.getKey().name() + " (pid " + handle.pid() + ") after "
                        + timeoutSeconds + " s without a clean stop");
            }
            Files.deleteIfExists(path(node.getKey().pidFile()));
        }
        return running.size();
    }

    /** Until the meta group and every volume group have a leader, as the member sees it. */
    void awaitLeaders(Member member, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String missing = "the cluster";
        while (System.nanoTime() < deadline) {
            Map<?, ?> cluster = (Map<?, ?>) get(member, "/api/status").get("cluster");
            missing = null;
            if (cluster == null || cluster.get("metaLeader") == null) {
                missing = "the cluster";
            } else {
                for (Object v : (List<?>) cluster.get("volumes")) {
                    Map<?, ?> volume = (Map<?, ?>) v;
                    if (volume.containsKey("role") && volume.get("leader") == null) { // a replica here, no leader yet
                        missing = "volume " + volume.get("volume");
                    }
                }
            }
            if (missing == null) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IOException(missing + " has no Raft leader after " + timeout.toSeconds() + " s; see the node logs in "
                + dir);
    }

    List<Member> members() {
        return layout.nodes();
    }

    Path path(String relative) {
        return dir.resolve(relative);
    }

    String token() throws IOException {
        return Files.readString(dir.resolve(AdminToken.FILE)).trim();
    }

    /** The running process of a member, if its pid file names a live raftlun process. */
    Optional<ProcessHandle> process(Member member) {
        Path pidFile = path(member.pidFile());
        try {
            if (!Files.exists(pidFile)) {
                return Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    // a pid reused by another process since: ours was started with the member's config
                    .filter(p -> p.info().commandLine().map(c -> c.contains(path(member.config()).toString()))
                            .orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Starts a member as a background process running this jar: {@code raftlun node --config ...}. */
    Process start(Member member, List<String> extraArguments) throws IOException {
        List<String> command = new ArrayList<>(javaCommand());
        command.addAll(List.of("node", "--config", path(member.config()).toString(),
                "--pid-file", path(member.pidFile()).toString()));
        command.addAll(extraArguments);
        Path log = path(member.log());
        Files.createDirectories(log.getParent());
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** Waits until the member's portal accepts connections; fails early, with its log, if it dies. */
    void awaitReady(Member member, Process process, Duration timeout) throws IOException, InterruptedException {
        InetSocketAddress portal = Addresses.parse(member.portal(), 3260);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("node " + member.name() + " exited with status " + process.exitValue()
                        + ":\n" + tail(path(member.log()), 15));
            }
            try (Socket socket = new Socket()) {
                socket.connect(portal, 300);
                if (Files.exists(path(member.pidFile()))) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("node " + member.name() + " did not open its portal " + member.portal()
                        + " within " + timeout.toSeconds() + " s; its log:\n" + tail(path(member.log()), 15));
            }
            Thread.sleep(100);
        }
    }

    /** GET on a member's admin API, with the cluster token; the JSON body. */
    Map<?, ?> get(Member member, String path) throws IOException, InterruptedException {
        return call(member, "GET", path, Duration.ofSeconds(5));
    }

    /** POST (no body) on a member's admin API, with the cluster token; the JSON body. */
    Map<?, ?> post(Member member, String path, Duration timeout) throws IOException, InterruptedException {
        return call(member, "POST", path, timeout);
    }

    private Map<?, ?> call(Member member, String method, String path, Duration timeout)
            throws IOException, InterruptedException {
        return AdminClient.call(member.endpoint(), token(), method, path, null, timeout);
    }

    /** A client of the cluster's admin API: its nodes in order, the cluster's token. */
    AdminClient client() throws IOException {
        return new AdminClient(members().stream().map(Member::endpoint).toList(), token());
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + file + ")";
        }
    }

    /** java, the node JVM options, -jar with the jar this code runs from: how every node process starts. */
    public static List<String> javaCommand() throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(JVM_OPTIONS);
        command.addAll(List.of("-jar", jar().toString()));
        return command;
    }

    /** The raftlun jar this code runs from. */
    public static Path jar() throws IOException {
        try {
            Path jar = Path.of(LocalCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(jar)) {
                throw new IOException("node processes are started from the raftlun jar: run ./raftlun, not the classes");
            }
            return jar;
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate the raftlun jar", e);
        }
    }
}

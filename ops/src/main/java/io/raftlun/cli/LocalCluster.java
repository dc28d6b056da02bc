package io.raftlun.cli;

import io.raftlun.node.AdminToken;
import io.raftlun.target.ConfigFiles;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
final class LocalCluster {

    /** Node JVM settings: bounded heap and direct memory, so a node stays well under 1 GiB. */
    static final List<String> JVM_OPTIONS = List.of("-Xms128m", "-Xmx512m", "-XX:MaxDirectMemorySize=384m",
            "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=50");

    /** One node of the cluster, paths relative to the cluster directory. */
    record Member(String name, String portal, String admin, String config, String dataDir, String pidFile,
                  String log) {
    }

    record Layout(List<Member> nodes) {
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

    static LocalCluster create(Path dir, List<Member> members) throws IOException {
        Files.createDirectories(dir);
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
                    data.toString(), member.portal(), member.admin(), null));
        }
        Layout layout = new Layout(members);
        ConfigFiles.write(dir.resolve("cluster.json"), layout);
        return new LocalCluster(dir, layout);
    }

    Path dir() {
        return dir;
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
                    .filter(p -> p.info().commandLine().map(c -> c.contains("raftlun")).orElse(true));
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
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(new URI("http://" + member.admin() + path))
                    .timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + token()).GET().build();
        } catch (URISyntaxException e) {
            throw new IOException("bad admin address " + member.admin(), e);
        }
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        Map<?, ?> body = ConfigFiles.JSON.readValue(response.body(), Map.class);
        if (response.statusCode() != 200) {
            throw new IOException(member.name() + ": " + body.get("error"));
        }
        return body;
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + file + ")";
        }
    }

    /** java -jar with the jar this code runs from. */
    static List<String> javaCommand() throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        try {
            Path jar = Path.of(LocalCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(jar)) {
                throw new IOException("node processes are started from the raftlun jar: run ./raftlun, not the classes");
            }
            List<String> command = new ArrayList<>();
            command.add(java);
            command.addAll(JVM_OPTIONS);
            command.addAll(List.of("-jar", jar.toString()));
            return command;
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate the raftlun jar", e);
        }
    }
}

package io.raftlun.cli;

import io.raftlun.target.ConfigFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code raftlun cluster}: the local cluster kept in a directory. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Shows or stops a local cluster.", "",
            "The cluster is the one 'raftlun demo' started in a directory: --dir, or $RAFTLUN_DIR."},
        subcommands = {ClusterCommand.Down.class, ClusterCommand.Status.class})
public final class ClusterCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static LocalCluster open(Path dir) {
        Path directory = LocalCluster.directory(dir);
        return LocalCluster.find(directory).orElseThrow(() -> new IllegalArgumentException(
                "no cluster in " + directory + " (start one with: raftlun demo --dir " + directory + ")"));
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = {"Stops every node of the cluster.", "",
                "SIGTERM first: initiators are logged out and data is synced; after --timeout seconds,",
                "SIGKILL. The data stays in the directory."},
            footer = {"", "Exit status: 0 when every node is stopped (or none ran), 1 on failure."})
    static final class Down implements Callable<Integer> {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
        Path dir;

        @Option(names = "--timeout", description = "Seconds to wait for a clean stop (default 30).")
        int timeout = 30;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = open(dir);
            int stopped = 0;
            for (LocalCluster.Member member : cluster.members()) {
                Optional<ProcessHandle> process = cluster.process(member);
                if (process.isEmpty()) {
                    Files.deleteIfExists(cluster.path(member.pidFile()));
                    continue;
                }
                ProcessHandle handle = process.get();
                handle.destroy();
                try {
                    handle.onExit().get(timeout, TimeUnit.SECONDS);
                    System.out.println("stopped " + member.name() + " (pid " + handle.pid() + ")");
                } catch (java.util.concurrent.TimeoutException e) {
                    handle.destroyForcibly();
                    handle.onExit().get(10, TimeUnit.SECONDS);
                    System.out.println("killed " + member.name() + " (pid " + handle.pid() + ") after " + timeout
                            + " s without a clean stop");
                }
                Files.deleteIfExists(cluster.path(member.pidFile()));
                stopped++;
            }
            if (stopped == 0) {
                System.out.println("nothing was running in " + cluster.dir());
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Shows each node (up or down, portal, sessions) and the targets it serves.",
            footer = {"", "Exit status: 0 if every node is up, 1 if any is down."})
    static final class Status implements Callable<Integer> {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
        Path dir;

        @Option(names = {"-o", "--output"}, description = "text (default) or json.")
        String output = "text";

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = open(dir);
            List<Map<String, Object>> nodes = new ArrayList<>();
            boolean allUp = true;
            for (LocalCluster.Member member : cluster.members()) {
                Map<String, Object> node = new LinkedHashMap<>();
                node.put("name", member.name());
                node.put("portal", member.portal());
                node.put("admin", member.admin());
                Optional<ProcessHandle> process = cluster.process(member);
                if (process.isEmpty()) {
                    node.put("state", "down");
                    allUp = false;
                } else {
                    node.put("pid", process.get().pid());
                    try {
                        node.put("status", cluster.get(member, "/api/status"));
                        node.put("state", "up");
                    } catch (java.io.IOException e) {
                        node.put("state", "unresponsive");
                        node.put("error", e.getMessage());
                        allUp = false;
                    }
                }
                nodes.add(node);
            }
            if (output.equals("json")) {
                System.out.println(ConfigFiles.JSON.writeValueAsString(Map.of("dir", cluster.dir().toString(),
                        "nodes", nodes)));
            } else if (output.equals("text")) {
                printText(cluster, nodes);
            } else {
                throw new IllegalArgumentException("--output must be text or json, not " + output);
            }
            return allUp ? 0 : 1;
        }

        private static void printText(LocalCluster cluster, List<Map<String, Object>> nodes) {
            System.out.println("cluster " + cluster.dir());
            for (Map<String, Object> node : nodes) {
                String line = String.format("  %-8s %-13s portal %-21s admin %s", node.get("name"),
                        node.get("state") + (node.containsKey("pid") ? " (pid " + node.get("pid") + ")" : ""),
                        node.get("portal"), node.get("admin"));
                System.out.println(line);
                if (node.get("status") instanceof Map<?, ?> status) {
                    System.out.println("           sessions " + status.get("sessions") + ", version "
                            + status.get("version"));
                    if (status.get("targets") instanceof List<?> targets) {
                        for (Object t : targets) {
                            Map<?, ?> target = (Map<?, ?>) t;
                            System.out.println("           target " + target.get("tid") + " " + target.get("iqn")
                                    + ", initiators " + target.get("initiators"));
                            for (Object l : (List<?>) target.get("luns")) {
                                Map<?, ?> lun = (Map<?, ?>) l;
                                System.out.println("             LUN " + lun.get("lun") + ": "
                                        + Sizes.format(((Number) lun.get("sizeBytes")).longValue()) + ", "
                                        + lun.get("blockSize") + "-byte blocks, volume " + lun.get("volume"));
                            }
                        }
                    }
                }
                if (node.containsKey("error")) {
                    System.out.println("           " + node.get("error"));
                }
            }
        }
    }
}

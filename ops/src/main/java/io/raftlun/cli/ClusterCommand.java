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
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code raftlun cluster}: the local cluster kept in a directory. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = {"Starts, shows or stops a cluster of nodes on this machine.", "",
            "The cluster lives in a directory: --dir, or $RAFTLUN_DIR (default ./run/demo)."},
        subcommands = {ClusterCommand.Up.class, ClusterCommand.Down.class, ClusterCommand.Status.class,
            ClusterCommand.Drain.class, RecoveryCommands.AddNode.class, RecoveryCommands.ReplaceNode.class})
public final class ClusterCommand implements Runnable {

    @Override
    public void run() {
        Main.usage(this);
    }

    /** The --dir every command on a local cluster takes. */
    static final class ClusterDir {
        @Option(names = "--dir", paramLabel = "DIR", description = "Cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
        Path path;

        /** The cluster in this directory; refuses a directory without one. */
        LocalCluster open() {
            Path directory = LocalCluster.directory(path);
            return LocalCluster.find(directory).orElseThrow(() -> new IllegalArgumentException(
                    "no cluster in " + directory + " (start one with: raftlun demo --dir " + directory + ")"));
        }
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = {"Starts a cluster of node processes on this machine.", "",
                "Node N runs on 127.0.0.N: iSCSI portal :3260, admin API and /metrics :9260, Raft :9270.",
                "Each is an ordinary 'raftlun node --config DIR/nodeN/node.json' process in the",
                "background, as on separate hosts. The first 'up' creates the cluster in DIR; later",
                "ones start the same cluster again, with its data. Waits until the cluster has a",
                "leader, then prints the portals. Targets are created with the node's or demo's",
                "options, or by 'raftlun demo' (which also creates a LUN)."},
            footer = {"", "Exit status: 0 when every node runs and the cluster has a leader, 1 otherwise."})
    static final class Up implements Callable<Integer> {
        @Mixin
        ClusterDir dir;

        @Option(names = "--nodes", description = "Number of nodes, 1 to 9 (default 3).")
        int nodes = 3;

        @Option(names = "--replication-factor", description = "Replicas of each new volume (default 3, at most --nodes).")
        int replicationFactor = io.raftlun.cluster.ClusterOptions.DEFAULT_REPLICATION_FACTOR;

        @Option(names = "--port", description = "iSCSI port of each node (default 3260).")
        int port = 3260;

        @Option(names = "--admin-port", description = "Admin API and /metrics port of each node (default 9260).")
        int adminPort = io.raftlun.node.NodeOptions.DEFAULT_ADMIN_PORT;

        @Option(names = "--raft-port", description = "Raft port of each node (default 9270).")
        int raftPort = LocalCluster.DEFAULT_RAFT_PORT;

        @Override
        public Integer call() throws Exception {
            if (nodes < 1 || nodes > 9) {
                throw new IllegalArgumentException("--nodes must be 1 to 9 (node i runs on 127.0.0.i), not " + nodes);
            }
            if (replicationFactor < 1) {
                throw new IllegalArgumentException("--replication-factor must be at least 1");
            }
            Path directory = LocalCluster.directory(dir.path);
            LocalCluster cluster = LocalCluster.find(directory).orElse(null);
            if (cluster == null) {
                cluster = LocalCluster.create(directory, LocalCluster.members(nodes, port, adminPort, raftPort),
                        Math.min(replicationFactor, nodes));
            } else {
                cluster.requireStopped();
            }
            cluster.startAll(member -> List.of(), java.time.Duration.ofSeconds(90));
            System.out.println("raftlun cluster up in " + cluster.dir() + ": " + cluster.members().size() + " node(s)");
            for (LocalCluster.Member member : cluster.members()) {
                System.out.println("  " + member.name() + "  iSCSI " + member.portal() + "  admin http://"
                        + member.admin() + (member.raft() != null ? "  raft " + member.raft() : ""));
            }
            System.out.println("  status: ./raftlun cluster status --dir " + cluster.dir());
            System.out.println("  stop:   ./raftlun cluster down --dir " + cluster.dir());
            return 0;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = {"Stops every node of the cluster.", "",
                "SIGTERM first: initiators are logged out and data is synced; after --timeout seconds,",
                "SIGKILL. The data stays in the directory."},
            footer = {"", "Exit status: 0 when every node is stopped (or none ran), 1 on failure."})
    static final class Down implements Callable<Integer> {
        @Mixin
        ClusterDir dir;

        @Option(names = "--timeout", description = "Seconds to wait for a clean stop (default 30).")
        int timeout = 30;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = dir.open();
            if (cluster.stopAll(timeout) == 0) {
                System.out.println("nothing was running in " + cluster.dir());
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Shows each node (up or down, portal, version, sessions per target), the targets it",
                "serves, each volume's replicas, leader and Raft indexes there, and each volume's health",
                "as its leader sees it: healthy, REBUILDING (a replica catching up), DEGRADED (a replica",
                "does not answer), UNAVAILABLE (no leader), with each replica's lag in log entries."},
            footer = {"", "Exit status: 0 if every node is up, 1 if any is down or on a mistake; with --node,",
                "3 if that node cannot be reached, 4 for a wrong admin token."})
    static final class Status implements Callable<Integer> {
        @Mixin
        ClusterDir dir;

        @Option(names = "--node", paramLabel = "HOST:PORT",
                description = "Any cluster, through a node's admin API address, instead of --dir.")
        String node;

        @Option(names = "--token-file", paramLabel = "FILE",
                description = "With --node: the admin token (default: $RAFTLUN_TOKEN).")
        Path tokenFile;

        @Option(names = {"-o", "--output"}, description = "text (default) or json.")
        String output = "text";

        @Override
        public Integer call() throws Exception {
            if (node != null) {
                return remote();
            }
            LocalCluster cluster = dir.open();
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
            print("dir", cluster.dir().toString(), nodes);
            return allUp ? 0 : 1;
        }

        /**
         * A cluster anywhere, through one node's admin API: every node it knows of (announced,
         * or only a member so far) and what each node's own API says, or that it cannot be reached.
         */
        private int remote() throws Exception {
            AdminOptions options = new AdminOptions();
            options.node = node;
            options.tokenFile = tokenFile;
            AdminClient client = options.client();
            Map<?, ?> first = client.get("/api/status");
            List<Map<String, Object>> nodes = new ArrayList<>();
            boolean allUp = true;
            Map<?, ?> cluster = (Map<?, ?>) first.get("cluster");
            List<?> members = cluster == null ? List.of(first.get("node")) : (List<?>) cluster.get("members");
            List<?> announced = cluster == null ? List.of() : (List<?>) cluster.get("nodes");
            for (Object name : members) {
                Map<String, Object> n = new LinkedHashMap<>();
                n.put("name", name);
                Map<?, ?> info = announced.stream().map(a -> (Map<?, ?>) a).filter(a -> name.equals(a.get("name")))
                        .findFirst().orElse(Map.of());
                n.put("portal", info.get("portal"));
                n.put("admin", name.equals(first.get("node")) ? node : info.get("admin"));
                try {
                    n.put("status", name.equals(first.get("node")) ? first
                            : client.at(new AdminClient.Endpoint(String.valueOf(name), (String) info.get("admin")))
                                    .get("/api/status"));
                    n.put("state", "up");
                } catch (AdminClient.AdminException | RuntimeException e) {
                    n.put("state", info.isEmpty() ? "unknown" : "unreachable");
                    n.put("error", info.isEmpty() ? "never announced its addresses" : e.getMessage());
                    allUp = false;
                }
                nodes.add(n);
            }
            print("node", node, nodes);
            return allUp ? 0 : 1;
        }

        /** {@code how}: "dir" (a local cluster's directory) or "node" (the node asked). */
        private void print(String how, String where, List<Map<String, Object>> nodes) {
            if (output.equals("json")) {
                System.out.println(ConfigFiles.JSON.writeValueAsString(Map.of(how, where, "nodes", nodes)));
            } else if (output.equals("text")) {
                printText((how.equals("node") ? "through " : "") + where, nodes);
            } else {
                throw new IllegalArgumentException("--output must be text or json, not " + output);
            }
        }

        private static void printText(String where, List<Map<String, Object>> nodes) {
            System.out.println("cluster " + where);
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
                                    + ", sessions " + target.get("sessions") + ", initiators " + target.get("initiators"));
                            for (Object l : (List<?>) target.get("luns")) {
                                Map<?, ?> lun = (Map<?, ?>) l;
                                System.out.println("             LUN " + lun.get("lun") + ": "
                                        + Sizes.format(((Number) lun.get("sizeBytes")).longValue()) + ", "
                                        + lun.get("blockSize") + "-byte blocks, volume " + lun.get("volume"));
                            }
                        }
                    }
                }
                if (node.get("status") instanceof Map<?, ?> status && status.get("cluster") instanceof Map<?, ?> c) {
                    System.out.println("           cluster leader " + c.get("metaLeader"));
                    for (Object v : (List<?>) c.get("volumes")) {
                        Map<?, ?> volume = (Map<?, ?>) v;
                        System.out.println("           volume " + volume.get("volume") + ": replicas "
                                + volume.get("replicas") + ", leader " + volume.get("leader")
                                + (volume.containsKey("role") ? ", here " + volume.get("role") + " (commit "
                                + volume.get("commitIndex") + ", applied " + volume.get("appliedIndex") + ")" : ""));
                    }
                }
                if (node.containsKey("error")) {
                    System.out.println("           " + node.get("error"));
                }
            }
            printVolumes(nodes);
        }

        /**
         * Each volume's health as its leader reports it (lag of each replica behind the leader's
         * commit index, replicas that do not answer); a volume no node leads is unavailable.
         * Anything but healthy is in capitals, so it stands out.
         */
        private static void printVolumes(List<Map<String, Object>> nodes) {
            Map<String, Map<?, ?>> leaders = new java.util.TreeMap<>();
            for (Map<String, Object> node : nodes) {
                if (node.get("status") instanceof Map<?, ?> status && status.get("cluster") instanceof Map<?, ?> c) {
                    for (Object v : (List<?>) c.get("volumes")) {
                        Map<?, ?> volume = (Map<?, ?>) v;
                        if (volume.containsKey("lag") || !leaders.containsKey((String) volume.get("volume"))) {
                            leaders.put((String) volume.get("volume"), volume);
                        }
                    }
                }
            }
            if (leaders.isEmpty()) {
                return;
            }
            System.out.println("volumes");
            leaders.forEach((name, volume) -> {
                String health = volume.containsKey("lag") ? (String) volume.get("health") : "unavailable";
                String shown = health.equals("healthy") ? health : health.toUpperCase(java.util.Locale.ROOT) + " !";
                System.out.println(String.format("  %-22s %-14s replicas %s, leader %s%s%s", name, shown,
                        volume.get("replicas"), volume.get("leader") == null ? "none" : volume.get("leader"),
                        volume.get("lag") instanceof Map<?, ?> lag && !lag.isEmpty() ? ", lag " + lag : "",
                        volume.get("down") instanceof List<?> down && !down.isEmpty() ? ", down " + down : ""));
            });
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = {"Moves every leadership off a node, for maintenance.", "",
                "The node hands the leadership of each Raft group it leads (the cluster's meta group",
                "and volumes) to an up-to-date follower, without waiting for an election timeout.",
                "Initiators keep their sessions: multipath ones see the optimized path move to the",
                "new leader's node (ALUA); I/O through the drained node goes on, forwarded. Stopping",
                "a node (SIGTERM, 'cluster down') drains it first by itself.",
                "",
                "Example: raftlun cluster drain node1 && kill $(cat DIR/node1/node.pid)"},
            footer = {"", "Exit status: 0 when the node leads no group any more; 1 if a group found no follower "
                    + "to take it (the output says which), or the node is unknown or not running."})
    static final class Drain implements Callable<Integer> {
        @Mixin
        ClusterDir dir;

        @picocli.CommandLine.Parameters(paramLabel = "NODE", description = "The node to drain (e.g. node1).")
        String node;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = dir.open();
            LocalCluster.Member member = cluster.members().stream().filter(m -> m.name().equals(node)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no node " + node + " in " + cluster.dir()
                            + " (nodes: " + cluster.members().stream().map(LocalCluster.Member::name).toList() + ")"));
            if (cluster.process(member).isEmpty()) {
                throw new IllegalArgumentException("node " + node + " is not running");
            }
            Map<?, ?> answer = cluster.post(member, "/api/drain", java.time.Duration.ofSeconds(60));
            List<?> handedOver = (List<?>) answer.get("handedOver");
            boolean all = true;
            for (Object h : handedOver) {
                Map<?, ?> group = (Map<?, ?>) h;
                if (group.get("newLeader") != null) {
                    System.out.println(node + ": " + group.get("group") + " now led by " + group.get("newLeader")
                            + " (" + group.get("millis") + " ms)");
                } else {
                    all = false;
                    System.out.println(node + ": " + group.get("group") + " still led here: " + group.get("problem"));
                }
            }
            if (handedOver.isEmpty()) {
                System.out.println(node + " leads no group");
            }
            return all ? 0 : 1;
        }
    }
}

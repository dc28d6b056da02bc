package io.raftlun.cli;

import io.raftlun.cluster.ClusterOptions;
import io.raftlun.node.NodeOptions;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code raftlun demo}: a ready-to-use local cluster with one target and one thin LUN. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
            "Starts a local cluster with a target and a thin LUN, ready to use.",
            "",
            "Three nodes by default, node N on 127.0.0.N (iSCSI :3260, admin and /metrics :9260,",
            "Raft :9270), with target " + DemoCommand.IQN + " (tid 1) and LUN 1, replicated",
            "to all three, open to every initiator (ACL ALL), ready for: iscsi-ls iscsi://127.0.0.1",
            "",
            "Runs in the foreground (Ctrl-C stops it) unless --detach is given; then stop it with",
            "  raftlun cluster down --dir DIR",
            "Running it again on the same directory serves the same data."},
        footer = {"", "Exit status: 0 when stopped cleanly (or started, with --detach), 1 on failure."})
public final class DemoCommand implements Callable<Integer> {

    static final String IQN = "iqn.2026-11.io.raftlun:demo";

    @Option(names = "--nodes", description = "Number of nodes, each on its own loopback address 127.0.0.N "
            + "(default 3; 1 runs a lone node with local, unreplicated volumes).")
    int nodes = 3;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
    Path dir;

    @Option(names = "--size", paramLabel = "SIZE", description = "Size of LUN 1 (default 1G); thin: costs nothing until written.")
    String size = "1G";

    @Option(names = "--port", description = "iSCSI port (default 3260).")
    int port = 3260;

    @Option(names = "--admin-port", description = "Admin API and /metrics port (default 9260).")
    int adminPort = NodeOptions.DEFAULT_ADMIN_PORT;

    @Option(names = "--raft-port", description = "Raft port of each node (default 9270).")
    int raftPort = LocalCluster.DEFAULT_RAFT_PORT;

    @Option(names = "--detach", description = "Start in the background and return once the portal answers.")
    boolean detach;

    @Override
    public Integer call() throws Exception {
        if (nodes < 1 || nodes > 9) {
            throw new IllegalArgumentException("--nodes must be 1 to 9 (node i runs on 127.0.0.i), not " + nodes);
        }
        long bytes = Sizes.parse(size);
        Path directory = LocalCluster.directory(dir);
        LocalCluster cluster = LocalCluster.find(directory).orElse(null);
        if (cluster != null) {
            cluster.requireStopped();
            if (cluster.members().size() != nodes) {
                throw new IllegalArgumentException(directory + " holds a " + cluster.members().size()
                        + "-node cluster; use --nodes " + cluster.members().size() + " or another --dir");
            }
        } else {
            cluster = LocalCluster.create(directory, LocalCluster.members(nodes, port, adminPort, raftPort),
                    ClusterOptions.DEFAULT_REPLICATION_FACTOR);
        }
        LocalCluster.Member first = cluster.members().get(0);
        List<String> targetArguments = List.of("--target", IQN, "--lun", "1:" + bytes, "--initiator",
                TargetConfig.ALL);
        if (!detach && nodes == 1) { // a lone node runs right here, in the foreground
            NodeConfigFile config = ConfigFiles.read(cluster.path(first.config()), NodeConfigFile.class);
            NodeOptions options = new NodeOptions(first.name(), Path.of(config.dataDir()),
                    Addresses.parse(first.portal(), port), Addresses.parse(first.admin(), adminPort));
            LocalCluster started = cluster;
            return NodeCommand.run(options, catalog -> catalog.update(current -> NodeCommand.ensureTarget(current, IQN,
                    NodeCommand.parseLuns(List.of("1:" + bytes), 512), List.of(TargetConfig.ALL))),
                    cluster.path(first.pidFile()), () -> printWelcome(started, bytes));
        }
        LocalCluster started = cluster;
        if (!detach) { // Ctrl-C stops the whole cluster, as it would stop a lone node
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    started.stopAll(30);
                } catch (Exception e) {
                    System.err.println("raftlun: stopping the cluster: " + e.getMessage());
                }
            }, "demo-stop"));
        }
        cluster.startAll(member -> member == first ? targetArguments : List.of(), Duration.ofSeconds(90));
        printWelcome(cluster, bytes);
        if (!detach) {
            Thread.currentThread().join(); // until Ctrl-C
        }
        return 0;
    }

    private void printWelcome(LocalCluster cluster, long bytes) {
        LocalCluster.Member member = cluster.members().get(0);
        String host = member.portal().substring(0, member.portal().lastIndexOf(':'));
        String portal = port == 3260 ? host : member.portal();
        System.out.println("raftlun demo: target " + IQN + ", LUN 1 (" + Sizes.format(bytes) + ", thin"
                + (cluster.replicated() ? ", replicated on " + cluster.members().size() + " nodes" : "") + ") on "
                + String.join(", ", cluster.members().stream().map(LocalCluster.Member::portal).toList())
                + (detach ? " (running in the background)" : ""));
        System.out.println("  list it:     iscsi-ls iscsi://" + portal);
        System.out.println("  use it:      qemu-img info iscsi://" + portal + "/" + IQN + "/1");
        System.out.println("  kernel:      iscsiadm -m discovery -t sendtargets -p " + member.portal()
                + " && iscsiadm -m node -T " + IQN + " -p " + member.portal() + " --login");
        System.out.println("  status:      ./raftlun cluster status --dir " + cluster.dir());
        System.out.println("  stop:        " + (detach ? "" : "Ctrl-C, or ") + "./raftlun cluster down --dir "
                + cluster.dir());
        System.out.println("  node logs:   " + cluster.dir() + "/node*/node.log");
        System.out.flush();
    }
}

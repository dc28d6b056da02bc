package io.raftlun.cli;

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
            "The cluster runs on 127.0.0.1 with target " + DemoCommand.IQN + " (tid 1) and",
            "LUN 1, open to every initiator (ACL ALL), ready for: iscsi-ls iscsi://127.0.0.1",
            "",
            "Runs in the foreground (Ctrl-C stops it) unless --detach is given; then stop it with",
            "  raftlun cluster down --dir DIR",
            "Running it again on the same directory serves the same data."},
        footer = {"", "Exit status: 0 when stopped cleanly (or started, with --detach), 1 on failure."})
public final class DemoCommand implements Callable<Integer> {

    static final String IQN = "iqn.2026-11.io.raftlun:demo";

    @Option(names = "--nodes", description = "Number of nodes (this release: 1).")
    int nodes = 1;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Cluster directory (default: $RAFTLUN_DIR, else ./run/demo).")
    Path dir;

    @Option(names = "--size", paramLabel = "SIZE", description = "Size of LUN 1 (default 1G); thin: costs nothing until written.")
    String size = "1G";

    @Option(names = "--port", description = "iSCSI port (default 3260).")
    int port = 3260;

    @Option(names = "--admin-port", description = "Admin API and /metrics port (default 9260).")
    int adminPort = NodeOptions.DEFAULT_ADMIN_PORT;

    @Option(names = "--detach", description = "Start in the background and return once the portal answers.")
    boolean detach;

    @Override
    public Integer call() throws Exception {
        if (nodes != 1) {
            throw new IllegalArgumentException("--nodes " + nodes + ": this release runs single-node clusters; "
                    + "replicated multi-node clusters come with the Raft replication work");
        }
        long bytes = Sizes.parse(size);
        Path directory = LocalCluster.directory(dir);
        LocalCluster cluster = LocalCluster.find(directory).orElse(null);
        if (cluster != null) {
            for (LocalCluster.Member member : cluster.members()) {
                var running = cluster.process(member);
                if (running.isPresent()) {
                    throw new IllegalStateException("a cluster is already running in " + directory + " (node "
                            + member.name() + ", pid " + running.get().pid() + "); stop it with: raftlun cluster down --dir "
                            + directory);
                }
            }
        } else {
            cluster = LocalCluster.create(directory, List.of(new LocalCluster.Member("node1", "127.0.0.1:" + port,
                    "127.0.0.1:" + adminPort, "node1/node.json", "node1/data", "node1/node.pid", "node1/node.log")));
        }
        LocalCluster.Member member = cluster.members().get(0);
        List<String> targetArguments = List.of("--target", IQN, "--lun", "1:" + bytes, "--initiator",
                TargetConfig.ALL);
        if (!detach) {
            NodeConfigFile config = ConfigFiles.read(cluster.path(member.config()), NodeConfigFile.class);
            NodeOptions options = new NodeOptions(member.name(), Path.of(config.dataDir()),
                    Addresses.parse(member.portal(), port), Addresses.parse(member.admin(), adminPort));
            LocalCluster started = cluster;
            return NodeCommand.run(options, catalog -> catalog.update(current -> NodeCommand.ensureTarget(current, IQN,
                    NodeCommand.parseLuns(List.of("1:" + bytes), 512), List.of(TargetConfig.ALL))),
                    cluster.path(member.pidFile()), () -> printWelcome(started, bytes));
        }
        Process process = cluster.start(member, targetArguments);
        cluster.awaitReady(member, process, Duration.ofSeconds(60));
        printWelcome(cluster, bytes);
        return 0;
    }

    private void printWelcome(LocalCluster cluster, long bytes) {
        LocalCluster.Member member = cluster.members().get(0);
        String host = member.portal().substring(0, member.portal().lastIndexOf(':'));
        String portal = port == 3260 ? host : member.portal();
        System.out.println("raftlun demo: target " + IQN + ", LUN 1 (" + Sizes.format(bytes) + ", thin) on "
                + member.portal() + (detach ? " (running in the background)" : ""));
        System.out.println("  list it:     iscsi-ls iscsi://" + portal);
        System.out.println("  use it:      qemu-img info iscsi://" + portal + "/" + IQN + "/1");
        System.out.println("  kernel:      iscsiadm -m discovery -t sendtargets -p " + member.portal()
                + " && iscsiadm -m node -T " + IQN + " -p " + member.portal() + " --login");
        System.out.println("  status:      ./raftlun cluster status --dir " + cluster.dir());
        System.out.println("  stop:        " + (detach ? "" : "Ctrl-C, or ") + "./raftlun cluster down --dir "
                + cluster.dir());
        System.out.println("  node log:    " + cluster.path(member.log()));
        System.out.flush();
    }
}

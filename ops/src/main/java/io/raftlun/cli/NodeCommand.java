package io.raftlun.cli;

import io.netty.util.ResourceLeakDetector;
import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.iscsi.IscsiSettings;
import io.raftlun.target.ConfigFiles;
import io.raftlun.target.TargetCatalog;
import io.raftlun.target.TargetConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code raftlun node}: runs one node in the foreground until SIGTERM or Ctrl-C. */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = {
            "Runs one node in the foreground.",
            "",
            "A node is an iSCSI portal serving the targets kept in its data directory, plus the admin",
            "API with /metrics. It stops cleanly on SIGTERM or Ctrl-C (initiators are asked to log out,",
            "data is synced).",
            "",
            "Targets can come from a config file, from the CLI, or from --target/--lun here, which",
            "create what is missing at start (an existing LUN keeps its data).",
            "",
            "In a cluster (a \"cluster\" section in the config file: id, members with their Raft",
            "addresses, replicationFactor), the targets are the cluster's, changed through any node, and",
            "every LUN is a volume replicated through Raft to its replica nodes. 'raftlun cluster up'",
            "writes such config files for a cluster on this machine.",
            "",
            "Example: raftlun node --data-dir /var/lib/raftlun --target iqn.2026-11.com.example:disk1 "
                + "--lun 1:100G --initiator 192.168.1.0/24"},
        footer = {"", "Exit status: 0 after a clean stop, 1 if the node cannot start (the reason is printed)."})
public final class NodeCommand implements java.util.concurrent.Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE",
            description = "Node config file (JSON: name, dataDir, portal, admin, targets, cluster). Options given here win.")
    Path config;

    @Option(names = "--name", description = "Node name in logs and metrics (default: host name).")
    String name;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where volumes, block map and target config live.")
    Path dataDir;

    @Option(names = "--portal", paramLabel = "HOST[:PORT]",
            description = "iSCSI portal to listen on (default 0.0.0.0:3260).")
    String portal;

    @Option(names = "--admin", paramLabel = "HOST[:PORT]",
            description = "Admin API and /metrics (default 127.0.0.1:9260).")
    String admin;

    @Option(names = "--target", paramLabel = "IQN", description = "Serve this target (created if missing).")
    String target;

    @Option(names = "--lun", paramLabel = "N:SIZE[:PATH]",
            description = "A LUN of --target: number, size (1G, 512M, bytes) and optionally a file or device "
                    + "to keep its blocks in (as tgt's --backing-store). Repeatable.")
    List<String> luns = new ArrayList<>();

    @Option(names = "--initiator", paramLabel = "ALL|ADDRESS|NETWORK|NAME",
            description = "Initiators --target admits (tgt's bind). Repeatable. Default with --target: ALL.")
    List<String> initiators = new ArrayList<>();

    @Option(names = "--block-size", description = "Logical block size of new LUNs: 512 or 4096 (default 512).")
    int blockSize = 512;

    @Option(names = "--pid-file", paramLabel = "FILE", description = "Write the process id here while running.")
    Path pidFile;

    @Option(names = "--no-metrics", description = "Record no metrics (/metrics stays empty): only to measure what "
            + "collecting them costs; monitoring and alerts see nothing of this node.")
    boolean noMetrics;

    @Option(names = "--busy-poll-us", paramLabel = "MICROSECONDS",
            description = {"After answering an initiator that waits for each answer (queue depth 1), how long "
                    + "the portal's thread keeps polling for its next command before it sleeps (default "
                    + IscsiSettings.DEFAULT_BUSY_POLL_MICROS + ": sleep at once; e.g. 50). The command then "
                    + "skips a thread wake-up: 4 KiB reads at queue depth 1 took 11-50% less time on a lone node "
                    + "here. Costs up to that much CPU per such command; deeper queues are not polled for. Use "
                    + "it on a node with a core to spare."})
    Integer busyPollMicros;

    /** Longer than this is CPU spent for nothing: an initiator that waits this long is not waiting on us. */
    static final int MAX_BUSY_POLL_MICROS = 10_000;

    @Override
    public Integer call() throws Exception {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Netty's default leak tracking records a stack trace for one buffer in 128: 1.5% of a
            // node's CPU under 4 KiB reads at 120k/s. The tests track every buffer (paranoid); a
            // node does so only when asked with -Dio.netty.leakDetection.level.
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        NodeConfigFile file = config == null ? new NodeConfigFile(null, null, null, null, null, null, null)
                : ConfigFiles.read(config, NodeConfigFile.class);
        Duration busyPoll = busyPoll(busyPollMicros != null ? busyPollMicros
                : file.busyPollMicros() != null ? file.busyPollMicros() : IscsiSettings.DEFAULT_BUSY_POLL_MICROS);
        String dir = dataDir != null ? dataDir.toString() : file.dataDir();
        if (dir == null) {
            throw new IllegalArgumentException("no data directory: give --data-dir DIR or dataDir in --config");
        }
        NodeOptions options = new NodeOptions(
                name != null ? name : file.name() != null ? file.name() : InetAddress.getLocalHost().getHostName(),
                Path.of(dir),
                Addresses.parse(portal != null ? portal : file.portal() != null ? file.portal() : "0.0.0.0",
                        IscsiSettings.DEFAULT_PORT),
                Addresses.parse(admin != null ? admin : file.admin() != null ? file.admin() : "127.0.0.1",
                        NodeOptions.DEFAULT_ADMIN_PORT),
                file.cluster() == null ? null : file.cluster().options(), file.floatingDevice(), !noMetrics,
                busyPoll);
        if (options.cluster() != null) {
            options.cluster().member(options.name()); // a node of a cluster must be one of its members
        }
        if (!luns.isEmpty() && target == null) {
            throw new IllegalArgumentException("--lun needs --target IQN");
        }
        if (target != null && !TargetConfig.validName(target)) {
            throw new IllegalArgumentException("--target '" + target + "' is not an iSCSI name "
                    + "(expected iqn.YYYY-MM.reversed.domain:name, e.g. iqn.2026-11.com.example:disk1)");
        }
        if (file.targets() != null && !file.targets().problems().isEmpty()) {
            throw new IllegalArgumentException(config + ": " + String.join("; ", file.targets().problems()));
        }
        List<TargetConfig.Lun> wanted = parseLuns(luns, blockSize); // checked before anything starts
        return run(options, catalog -> {
            if (file.targets() != null) {
                catalog.apply(file.targets());
            }
            if (target != null) {
                catalog.update(current -> ensureTarget(current, target, wanted,
                        initiators.isEmpty() ? List.of(TargetConfig.ALL) : initiators));
            }
        }, pidFile, () -> { });
    }

    /**
     * Starts a node whose targets {@code prepare} sets up before its portal opens, reports it, and
     * runs {@code onReady}, and runs until the process is told to stop.
     */
    static int run(NodeOptions options, Consumer<TargetCatalog> prepare, Path pidFile, Runnable onReady)
            throws IOException {
        Node node = Node.start(options, prepare);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            if (pidFile != null) {
                try {
                    Files.deleteIfExists(pidFile);
                } catch (IOException e) {
                    // a stale pid file is recognised as such by cluster down/status
                }
            }
            stopped.countDown();
        }, "shutdown"));
        if (pidFile != null) {
            Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
        }
        System.out.println("raftlun node " + options.name() + " ready: iSCSI portal " + Node.portalName(node.portal())
                + ", admin http://" + Node.portalName(node.adminAddress()) + ", data " + options.dataDir());
        for (TargetConfig.Target t : node.catalog().config().targets()) {
            System.out.println("  target " + t.tid() + " " + t.iqn() + ": " + t.luns().size() + " LUN(s), initiators "
                    + (t.initiators().isEmpty() ? "none (bind some to admit)" : String.join(" ", t.initiators())));
        }
        onReady.run();
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** {@code current} with the target and LUNs present: created where missing, otherwise as they are. */
    static TargetConfig ensureTarget(TargetConfig current, String iqn, List<TargetConfig.Lun> wanted,
                                     List<String> initiators) {
        TargetConfig.Target existing = current.target(iqn).orElse(null);
        TargetConfig.Target target = existing != null ? existing
                : new TargetConfig.Target(current.targets().stream().mapToInt(TargetConfig.Target::tid).max().orElse(0) + 1,
                        iqn, null, List.of(), initiators, List.of(), null);
        List<TargetConfig.Lun> merged = new ArrayList<>(target.luns());
        for (TargetConfig.Lun lun : wanted) {
            TargetConfig.Lun have = target.lun(lun.lun()).orElse(null);
            if (have == null) {
                merged.add(lun);
            } else if (have.sizeBytes() != lun.sizeBytes()) {
                throw new IllegalArgumentException("LUN " + lun.lun() + " of " + iqn + " exists with "
                        + Sizes.format(have.sizeBytes()) + ", not " + Sizes.format(lun.sizeBytes())
                        + " (it is never resized or recreated at start)");
            }
        }
        return current.with(new TargetConfig.Target(target.tid(), target.iqn(), target.alias(), merged,
                target.initiators(), target.incomingUsers(), target.outgoingUser()));
    }

    static Duration busyPoll(int micros) {
        if (micros < 0 || micros > MAX_BUSY_POLL_MICROS) {
            throw new IllegalArgumentException("busy poll of " + micros + " µs (--busy-poll-us, busyPollMicros): "
                    + "expected 0 (off) to " + MAX_BUSY_POLL_MICROS
                    + " (default " + IscsiSettings.DEFAULT_BUSY_POLL_MICROS + ")");
        }
        return Duration.ofNanos(micros * 1000L);
    }

    static List<TargetConfig.Lun> parseLuns(List<String> specs, int blockSize) {
        List<TargetConfig.Lun> luns = new ArrayList<>();
        for (String spec : specs) {
            String[] parts = spec.split(":", 3);
            if (parts.length < 2) {
                throw new IllegalArgumentException("--lun " + spec + ": expected N:SIZE[:PATH], e.g. 1:10G");
            }
            int number;
            try {
                number = Integer.parseInt(parts[0]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--lun " + spec + ": '" + parts[0] + "' is not a LUN number");
            }
            long size = Sizes.parse(parts[1]);
            luns.add(new TargetConfig.Lun(number, TargetConfig.newVolumeName(), size, blockSize,
                    parts.length == 3 ? Path.of(parts[2]).toAbsolutePath().toString() : null, false));
        }
        return luns;
    }

}

package io.raftlun.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code raftlun bench}: raftlun and tgt side by side on this machine, driven by the same real
 * initiators in the same run, reported as medians and ratios.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
                "Benchmarks raftlun against tgt (Debian's iSCSI target, file-backed LUN) on this machine.",
                "Both are driven by the same real initiators: qemu-img bench (QEMU's libiscsi), fio through a",
                "qemu-storage-daemon NBD export, and ext4 on the LUN (FUSE export + loop device, needs root).",
                "Targets run alternately for several rounds; the report gives medians and raftlun/tgt ratios",
                "as a markdown table (report.md), a chart (ratios.png) and raw numbers (measurements.csv).",
                "Needs: tgt, qemu-utils, qemu-block-extra, qemu-system-common, fio, fuse3.",
                "Exit status: 0 when every run succeeded; 1 when one failed (a failed failover or catch-up",
                "run is listed in the report, after the results of the rest); 2 on bad options or missing",
                "tools."})
public final class BenchCommand implements Callable<Integer> {

    private static final long MIB = 1024 * 1024;
    /** The JIT compilers' share of a target's CPU during a warm-up pass below which it counts as warm. */
    private static final double WARM_COMPILER_SHARE = 0.05;
    private static final int WARM_UP_PASSES_MAX = 4;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds per target (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--size-mib", defaultValue = "1024", description = "LUN size in MiB (default: ${DEFAULT-VALUE}).")
    long sizeMib;

    @Option(names = "--working-set-mib", defaultValue = "256",
            description = "Part of the LUN the workloads touch, prefilled first (default: ${DEFAULT-VALUE}).")
    long workingSetMib;

    @Option(names = "--out", description = "Directory for the report (default: bench-results/<time>).")
    Path out;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Loopback address to serve on.")
    String host;

    @Option(names = "--port", defaultValue = "3290",
            description = "First portal port; each target gets its own (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--quick", description = "Short runs, for a smoke test of the harness itself.")
    boolean quick;

    @Option(names = "--skip-ext4", description = "Leave out the ext4 workload (it needs root).")
    boolean skipExt4;

    @Option(names = "--skip-failover", description = "Leave out raftlun-rf3's failover pauses (each round, three "
            + "node hosts and an initiator host in network namespaces; needs root, iproute2, iputils-arping).")
    boolean skipFailover;

    @Option(names = "--election-timeout-ms", description = "raftlun-rf3's Raft election timeout (default: the "
            + "node's default), to measure its effect on the failover pauses and on elections under load.")
    Integer electionTimeoutMs;

    @Option(names = "--metrics-cost-pairs", defaultValue = "40",
            description = "With raftlun-rf1 among the targets: after the rounds, each qemu-img workload runs "
                    + "this many times on one node with metrics recording on and off (switched through its admin "
                    + "API), alternately, each run --metrics-cost-length times as long as in the rounds, the "
                    + "node on one CPU and qemu-img on another (where there are two and taskset); the "
                    + "report gives the median cost of recording over these pairs (default: ${DEFAULT-VALUE}; "
                    + "0: leave out).")
    int metricsCostPairs;

    @Option(names = "--metrics-cost-length", defaultValue = "1",
            description = "How many times longer than in the rounds each run of the metrics-cost pairs is "
                    + "(default: ${DEFAULT-VALUE}). Many short pairs gave steadier medians here than a few long "
                    + "ones: a disturbance (a disk flush, another process) spoils one short pair, which the "
                    + "median leaves out, rather than shifting several long ones.")
    double metricsCostLength;

    @Option(names = "--targets", split = ",", defaultValue = "tgt,raftlun-rf1,raftlun-rf3",
            description = "Targets to run, in this order each round: tgt, raftlun-rf1 (one node), raftlun-rf3 "
                    + "(three nodes on 127.0.0.1-3, replication factor 3; the initiator uses node 1), "
                    + "raftlun-rf1-no-metrics (one node started with --no-metrics), raftlun-rf1-busy-poll (one node "
                    + "started with --busy-poll-us " + RaftlunNodes.BUSY_POLL_MICROS + ") (default: ${DEFAULT-VALUE}).")
    List<String> targets;

    @Override
    public Integer call() throws Exception {
        if (rounds < 0 || metricsCostPairs < 0 || !(metricsCostLength > 0)) {
            System.err.println("raftlun bench: --rounds and --metrics-cost-pairs must be 0 or more, "
                    + "--metrics-cost-length more than 0");
            return 2;
        }
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("tgtd", "tgtadm", "qemu-img", "qemu-storage-daemon", "fio")) {
            if (!Processes.onPath(tool)) {
                missing.add(tool);
            }
        }
        if (!missing.isEmpty()) {
            System.err.println("raftlun bench: missing " + String.join(", ", missing)
                    + "; install with: apt-get install tgt qemu-utils qemu-block-extra qemu-system-common fio fuse3");
            return 2;
        }
        boolean root = "root".equals(System.getProperty("user.name"));
        boolean ext4 = !skipExt4 && root;
        boolean failover = !skipFailover && root && targets.contains(RaftlunNodes.CLUSTER)
                && Processes.onPath("ip") && Processes.onPath("arping");
        if (out == null) {
            out = Path.of("bench-results", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        Files.createDirectories(out);
        Path work = Files.createDirectories(out.resolve("work"));
        long size = sizeMib * MIB;
        long workingSet = Math.min(workingSetMib, sizeMib) * MIB;
        List<Workload> workloads = workloads(workingSet, ext4);

        Report report = new Report("tgt");
        for (int round = 1; round <= rounds; round++) {
            for (String which : targets) {
                System.out.printf("round %d/%d: %s%n", round, rounds, which);
                try (TargetUnderTest target = start(which, work, size)) {
                    prefillAndWarmUp(target, workingSet, workloads);
                    AtomicLong peakRss = new AtomicLong();
                    Thread sampler = sampleMemory(target, peakRss);
                    try {
                        boolean replicated = target.name().equals(RaftlunNodes.CLUSTER);
                        long termsBefore = replicated ? raftTerms((RaftlunNodes) target) : 0;
                        for (Workload workload : workloads) {
                            report.add(print(workload.run(target, work)));
                        }
                        if (replicated) { // every election raises a term: under load there should be none
                            report.add(print(List.of(new Measurement(target.name(), "Raft elections during the above",
                                    "count", raftTerms((RaftlunNodes) target) - termsBefore, false))));
                        }
                    } finally {
                        sampler.interrupt();
                        sampler.join();
                    }
                    report.add(List.of(new Measurement(target.name(), "peak RSS under load, largest process", "MiB",
                            peakRss.get() / (double) MIB, false)));
                    if (target.name().equals(RaftlunNodes.CLUSTER)) {
                        RaftlunNodes cluster = (RaftlunNodes) target;
                        addOrListFailure(report, round, rounds, "catch-up", () -> CatchUp.run(cluster, size));
                        // last: the cluster has four nodes afterwards
                        addOrListFailure(report, round, rounds, "rebuild", () -> RebuildRate.run(cluster, work));
                    }
                }
            }
            if (failover) {
                System.out.printf("round %d/%d: %s failover, across network namespaces%n", round, rounds,
                        RaftlunNodes.CLUSTER);
                try {
                    report.add(print(NetnsFailover.run(work, electionTimeoutMs)));
                } catch (IOException e) { // reported with the results, which still count
                    System.out.printf("round %d/%d: %s%n", round, rounds, e.getMessage());
                    report.failed("round " + round + ": " + e.getMessage());
                }
            }
        }
        if (metricsCostPairs > 0 && targets.contains(RaftlunNodes.SINGLE)) {
            // The node on one CPU and qemu-img on another: sharing both cores as the scheduler
            // pleased, runs of 9 s varied by 6% either way; pinned, 4k QD32 reads vary by 0.2%.
            List<Integer> cpus = Processes.onPath("taskset") ? Processes.allowedCpus() : List.of();
            int nodeCpu = cpus.size() >= 2 ? cpus.get(cpus.size() - 1) : -1;
            int initiatorCpu = cpus.size() >= 2 ? cpus.get(0) : -1;
            System.out.printf("metrics cost: %s recording metrics and not, %d pairs of runs%s%n", RaftlunNodes.SINGLE,
                    metricsCostPairs, nodeCpu < 0 ? ""
                            : ", the node on CPU " + nodeCpu + " and qemu-img on CPU " + initiatorCpu);
            try (RaftlunNodes node = RaftlunNodes.single(RaftlunNodes.SINGLE, work, host, port + 1, size, List.of(),
                    nodeCpu)) {
                prefillAndWarmUp(node, workingSet, workloads);
                report.metricsCost(MetricsCost.measure(node, workloads.stream().filter(QemuImgBench.class::isInstance)
                        .map(w -> ((QemuImgBench) w).resized(metricsCostLength).onCpu(initiatorCpu)).toList(),
                        metricsCostPairs));
            }
        }
        String machine = machine();
        String markdown = report.markdown(machine);
        Files.writeString(out.resolve("report.md"), markdown);
        report.chart(out.resolve("ratios.png"));
        report.writeCsv(out.resolve("measurements.csv"));
        System.out.println();
        System.out.println(markdown);
        System.out.println("report: " + out.resolve("report.md") + ", chart: " + out.resolve("ratios.png"));
        if (!ext4) {
            System.out.println("(ext4 workload left out" + (root ? "" : ": it needs root") + ")");
        }
        if (!failover && targets.contains(RaftlunNodes.CLUSTER)) {
            System.out.println("(failover pauses left out" + (root ? "" : ": network namespaces need root") + ")");
        }
        return report.failures().isEmpty() ? 0 : 1;
    }

    /**
     * Adds what {@code measure} measured; if it fails, the failure is listed in the report instead
     * and the round's other results still count.
     */
    private static void addOrListFailure(Report report, int round, int rounds, String what,
                                         Callable<List<Measurement>> measure) throws Exception {
        try {
            report.add(print(measure.call()));
        } catch (IOException e) {
            System.out.printf("round %d/%d: %s: %s%n", round, rounds, what, e.getMessage());
            report.failed("round " + round + ": " + what + ": " + e.getMessage());
        }
    }

    private static List<Measurement> print(List<Measurement> results) {
        results.forEach(m -> System.out.printf("  %-36s %12.2f %s%n", m.metric(), m.value(), m.unit()));
        return results;
    }

    /** The sum of the Raft terms of the cluster's groups as node 1 sees them. */
    private static long raftTerms(RaftlunNodes cluster) throws Exception {
        java.util.Map<?, ?> status = (java.util.Map<?, ?>) cluster.status(0).get("cluster");
        long terms = ((Number) status.get("metaTerm")).longValue();
        for (Object volume : (List<?>) status.get("volumes")) {
            Object term = ((java.util.Map<?, ?>) volume).get("term");
            terms += term == null ? 0 : ((Number) term).longValue();
        }
        return terms;
    }

    private TargetUnderTest start(String which, Path work, long size) throws Exception {
        return switch (which) {
            case "tgt" -> TgtReference.start(work, host, port, size);
            case RaftlunNodes.SINGLE -> RaftlunNodes.single(which, work, host, port + 1, size, List.of());
            case RaftlunNodes.SINGLE_WITHOUT_METRICS ->
                    RaftlunNodes.single(which, work, host, port + 3, size, List.of("--no-metrics"));
            case RaftlunNodes.SINGLE_BUSY_POLL -> RaftlunNodes.single(which, work, host, port + 4, size,
                    List.of("--busy-poll-us", String.valueOf(RaftlunNodes.BUSY_POLL_MICROS)));
            case RaftlunNodes.CLUSTER -> RaftlunNodes.cluster(work, port + 2, port + 10, size, electionTimeoutMs);
            default -> throw new picocli.CommandLine.ParameterException(
                    new picocli.CommandLine(this), "unknown target " + which
                            + " (known: tgt, raftlun-rf1, raftlun-rf1-no-metrics, raftlun-rf1-busy-poll, raftlun-rf3)");
        };
    }

    private List<Workload> workloads(long workingSet, boolean ext4) {
        int small = quick ? 2000 : 20000;
        int large = quick ? 100 : 1000;
        int seconds = quick ? 3 : 10;
        List<Workload> list = new ArrayList<>(List.of(
                new QemuImgBench("4k QD1 read", false, 1, 4096, small, workingSet),
                new QemuImgBench("4k QD1 write", true, 1, 4096, small, workingSet),
                new QemuImgBench("4k QD32 read", false, 32, 4096, small * 4, workingSet),
                new QemuImgBench("4k QD32 write", true, 32, 4096, small * 4, workingSet),
                new QemuImgBench("1M QD8 read", false, 8, 1 << 20, large, workingSet),
                new QemuImgBench("1M QD8 write", true, 8, 1 << 20, large, workingSet),
                new FioOverNbd("fio 4k randread QD32", "randread", 4096, 32, seconds, workingSet),
                new FioOverNbd("fio 4k randwrite QD32", "randwrite", 4096, 32, seconds, workingSet)));
        if (ext4) {
            list.add(new Ext4OverIscsi(quick ? 64 * MIB : 256 * MIB, quick ? 500 : 2000, quick ? 100 : 500));
        }
        return list;
    }

    /**
     * Writes the working set once, so that reads hit written blocks on every target, then runs each
     * qemu-img workload at half its length, unmeasured, pass after pass: a target serves for months,
     * and its first minutes are not what its users live with. A JVM compiles its hot paths then: a
     * lone node's C2 compiler threads took 30-67% of its CPU during each workload after 60k small
     * requests, none after two passes; three node JVMs on two cores, each compiling Ratis, gRPC and
     * Netty, still spent a sixth to a half of their CPU in C2 after two passes' worth of 4 KiB
     * writes. So passes go on until the JIT compilers take at most {@link #WARM_COMPILER_SHARE} of
     * the target's CPU during one (two passes at least, {@link #WARM_UP_PASSES_MAX} at most). tgt
     * gets the same.
     */
    private static void prefillAndWarmUp(TargetUnderTest target, long workingSet, List<Workload> workloads)
            throws Exception {
        new QemuImgBench("prefill", true, 8, 1 << 20, (int) (workingSet / MIB), workingSet).run(target, null);
        for (int pass = 1; pass <= WARM_UP_PASSES_MAX; pass++) {
            long cpu = target.cpuNanos();
            long compiler = target.compilerNanos();
            for (Workload workload : workloads) {
                if (workload instanceof QemuImgBench qemuImg) {
                    qemuImg.resized(0.5).run(target, null);
                }
            }
            double share = (target.compilerNanos() - compiler) / (double) Math.max(1, target.cpuNanos() - cpu);
            if (pass >= 2 && share <= WARM_COMPILER_SHARE || pass == WARM_UP_PASSES_MAX) {
                System.out.printf("  warm-up: %d passes, JIT compilers at %.0f%% of the target's CPU in the last%n",
                        pass, 100 * share);
                return;
            }
        }
    }

    private static Thread sampleMemory(TargetUnderTest target, AtomicLong peak) {
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(target.residentBytes(), Math::max);
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        sampler.setDaemon(true);
        sampler.start();
        return sampler;
    }

    private static String machine() {
        StringBuilder text = new StringBuilder("Machine: ");
        text.append(Runtime.getRuntime().availableProcessors()).append(" cores, ");
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    text.append(kib / (1024 * 1024)).append(" GiB memory");
                }
            }
        } catch (Exception e) {
            text.append("memory unknown");
        }
        text.append("; Java ").append(System.getProperty("java.version"));
        text.append("; ").append(TgtReference.version());
        text.append("; ").append(firstLine("qemu-img", "--version"));
        text.append("; ").append(firstLine("fio", "--version"));
        return text.toString();
    }

    private static String firstLine(String... command) {
        try {
            return Processes.run(Duration.ofSeconds(5), command).lines().findFirst().orElse(command[0]).trim();
        } catch (Exception e) {
            return command[0] + " (version unknown)";
        }
    }
}

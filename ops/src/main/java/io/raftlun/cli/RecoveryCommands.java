package io.raftlun.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Replacing nodes and recovering volumes: {@code cluster add-node}, {@code cluster replace-node},
 * {@code volume rebuild} and {@code volume recover}. Each finds the cluster as the other commands
 * do (--dir, $RAFTLUN_DIR) and talks to the nodes' admin API; refusals are one line, exit status 1,
 * and change nothing.
 */
final class RecoveryCommands {

    /** The confirmation {@code volume recover} wants, spelled out. */
    static final String CONFIRMATION = "yes-i-understand-unreplicated-writes-may-be-lost";
    /** How long a rebuild may show no progress before the command gives up waiting (it goes on). */
    private static final Duration STALL = Duration.ofMinutes(5);

    private RecoveryCommands() {
    }

    @Command(name = "add-node", mixinStandardHelpOptions = true,
            description = {"Adds a node to the cluster, e.g. to replace a dead one.", "",
                "Creates node N+1 in the cluster directory (on 127.0.0.N+1, the ports of node 1),",
                "starts it and makes it a member of the cluster's meta group, through the leader:",
                "it then serves every target. Volumes get replicas on it with 'cluster replace-node'",
                "or 'volume rebuild'."},
            footer = {"", "Exit status: 0 when the node runs and is a member; 1 otherwise."})
    static final class AddNode implements Callable<Integer> {
        @Mixin
        ClusterCommand.ClusterDir dir;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = dir.open();
            LocalCluster.Member via = cluster.anyRunning();
            LocalCluster grown = cluster.addMember();
            LocalCluster.Member added = grown.members().get(grown.members().size() - 1);
            grown.awaitReady(added, grown.start(added, List.of()), Duration.ofSeconds(90));
            Map<?, ?> answer = grown.post(via, "/api/members/add?name=" + encode(added.name()) + "&raft="
                    + encode(added.raft()), Duration.ofSeconds(90));
            System.out.println(added.name() + " added: iSCSI " + added.portal() + ", admin http://" + added.admin()
                    + ", raft " + added.raft() + "; members " + answer.get("members"));
            return 0;
        }
    }

    @Command(name = "replace-node", mixinStandardHelpOptions = true,
            description = {"Moves every replica of a dead node to another node, and removes the dead one.", "",
                "For each volume with a replica on DEAD, NEW copies the data from the volume's leader",
                "(at most --rate), joins the volume's Raft group in DEAD's stead and catches up; the",
                "progress (bytes, rate, time left) is printed. Then DEAD leaves the cluster. NEW must",
                "be a member already ('cluster add-node'). A rebuild goes on after a restart of NEW or",
                "of the leader.",
                "",
                "Example: raftlun cluster add-node && raftlun cluster replace-node node3 --with node4 --rate 50M"},
            footer = {"", "Exit status: 0 when every replica is rebuilt and DEAD removed; 1 otherwise."})
    static final class ReplaceNode implements Callable<Integer> {
        @Mixin
        ClusterCommand.ClusterDir dir;

        @Parameters(paramLabel = "DEAD", description = "The node whose replicas move (e.g. node3).")
        String dead;

        @Option(names = "--with", required = true, paramLabel = "NEW", description = "The node that takes them (e.g. node4).")
        String replacement;

        @Option(names = "--rate", paramLabel = "RATE", description = "Copy at most RATE bytes per second (e.g. 50M; default unlimited).")
        String rate;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = dir.open();
            LocalCluster.Member from = cluster.member(dead);
            LocalCluster.Member to = running(cluster, replacement);
            if (dead.equals(replacement)) {
                throw new IllegalArgumentException("a node cannot replace itself");
            }
            Map<?, ?> status = clusterStatus(cluster, to);
            if (!((List<?>) status.get("members")).contains(replacement)) {
                throw new IllegalArgumentException(replacement + " is not a member of the cluster: add it with "
                        + "'raftlun cluster add-node' first");
            }
            if (!((List<?>) status.get("members")).contains(dead)) {
                throw new IllegalArgumentException(dead + " is not a member of the cluster (members: "
                        + status.get("members") + ")");
            }
            if (cluster.process(from).isPresent()) {
                throw new IllegalArgumentException(dead + " is running: replace-node moves a dead node's replicas "
                        + "(stop it for good first)");
            }
            long limit = rate == null ? 0 : Sizes.parse(rate);
            for (Object v : (List<?>) status.get("volumes")) {
                Map<?, ?> volume = (Map<?, ?>) v;
                if (((List<?>) volume.get("replicas")).contains(dead)) {
                    rebuild(cluster, to, (String) volume.get("volume"), dead, limit);
                }
            }
            Map<?, ?> members = cluster.post(cluster.anyRunning(), "/api/members/remove?name=" + encode(dead),
                    Duration.ofSeconds(90));
            System.out.println(dead + " replaced by " + replacement + "; members " + members.get("members"));
            return 0;
        }
    }

    @Command(name = "rebuild", mixinStandardHelpOptions = true,
            description = {"Builds a replica of VOLUME on a node, replacing another replica or adding one.", "",
                "The node copies the data from the volume's leader (at most --rate), then joins the",
                "volume's Raft group and catches up; the progress is printed. After 'volume recover'",
                "this brings the volume back to more replicas."},
            footer = {"", "Exit status: 0 when the replica is rebuilt; 1 otherwise."})
    static final class Rebuild implements Callable<Integer> {
        @Mixin
        ClusterCommand.ClusterDir dir;

        @Parameters(paramLabel = "VOLUME", description = "The volume (as 'cluster status' names it).")
        String volume;

        @Option(names = "--on", required = true, paramLabel = "NODE", description = "The node that gets the replica.")
        String node;

        @Option(names = "--replace", paramLabel = "OLD", description = "The replica's node it replaces (default: add one).")
        String replace;

        @Option(names = "--rate", paramLabel = "RATE", description = "Copy at most RATE bytes per second (e.g. 50M; default unlimited).")
        String rate;

        @Override
        public Integer call() throws Exception {
            LocalCluster cluster = dir.open();
            rebuild(cluster, running(cluster, node), volume, replace, rate == null ? 0 : Sizes.parse(rate));
            return 0;
        }
    }

    @Command(name = "recover", mixinStandardHelpOptions = true,
            description = {"LAST RESORT: serves VOLUME from one surviving replica when its majority is lost for good.", "",
                "The survivor's replica becomes the volume's only member, with every entry of its Raft",
                "log: writes that only the lost replicas held are gone. If the cluster's meta group lost",
                "its majority too, it is recovered onto the survivor the same way. The survivor is",
                "restarted. The lost nodes must never come back with their data (wipe their data",
                "directories): they would form a second, older volume. Refused when a majority of the",
                "volume's replicas is reachable. Afterwards add replicas with 'volume rebuild'."},
            footer = {"", "Exit status: 0 when the volume is served by the survivor again; 1 otherwise."})
    static final class Recover implements Callable<Integer> {
        @Mixin
        ClusterCommand.ClusterDir dir;

        @Parameters(paramLabel = "VOLUME", description = "The volume to recover.")
        String volume;

        @Option(names = "--from-survivor", required = true, paramLabel = "NODE", description = "The node whose replica survives.")
        String survivor;

        @Option(names = "--" + CONFIRMATION, description = "Confirms that writes only the lost replicas held are lost.")
        boolean confirmed;

        @Override
        public Integer call() throws Exception {
            if (!confirmed) {
                throw new IllegalArgumentException("refusing to recover " + volume + " from one replica without --"
                        + CONFIRMATION);
            }
            LocalCluster cluster = dir.open();
            LocalCluster.Member member = running(cluster, survivor);
            Map<?, ?> answer = cluster.post(member, "/api/recover?volume=" + encode(volume) + "&confirm=" + CONFIRMATION,
                    Duration.ofSeconds(30));
            System.out.println("volume " + volume + " forced onto " + survivor + " alone, recovering to log index "
                    + answer.get("recoveredIndex") + (answer.get("metaRecoveredIndex") != null
                    ? "; the meta group too, to index " + answer.get("metaRecoveredIndex") : ""));
            System.out.println("restarting " + survivor);
            cluster.process(member).ifPresent(ProcessHandle::destroy);
            cluster.process(member).ifPresent(p -> p.onExit().join());
            cluster.awaitReady(member, cluster.start(member, List.of()), Duration.ofSeconds(90));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                Map<?, ?> v = volumeStatus(clusterStatus(cluster, member), volume);
                if (survivor.equals(v.get("leader")) && List.of(survivor).equals(v.get("replicas"))) {
                    System.out.println("volume " + volume + " served by " + survivor + " (replicas " + v.get("replicas")
                            + ", commit index " + v.get("commitIndex") + "); add replicas with: raftlun volume rebuild "
                            + volume + " --on NODE");
                    return 0;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(survivor + " did not take up " + volume + " within 60 s: " + v);
                }
                Thread.sleep(250);
            }
        }
    }

    // ---------------------------------------------------------------- shared

    /** Has {@code on} rebuild {@code volume}'s replica, printing progress until it is a member. */
    static void rebuild(LocalCluster cluster, LocalCluster.Member on, String volume, String replacing, long rate)
            throws Exception {
        String query = "/api/rebuild?volume=" + encode(volume) + "&rate=" + rate
                + (replacing == null ? "" : "&replace=" + encode(replacing));
        cluster.post(on, query, Duration.ofSeconds(30));
        System.out.println(volume + ": rebuilding on " + on.name() + (replacing == null ? "" : " in place of " + replacing)
                + (rate > 0 ? ", at most " + Sizes.format(rate) + "/s" : ""));
        long lastProgress = System.nanoTime();
        Object lastDone = null;
        String lastPhase = null;
        boolean unreachable = false;
        while (true) {
            Map<?, ?> r;
            try {
                r = ((List<?>) cluster.get(on, "/api/rebuilds").get("rebuilds")).stream()
                        .map(Map.class::cast).filter(m -> volume.equals(m.get("volume"))).findFirst().orElse(null);
                if (r == null) { // restarted after it finished: the placement tells
                    if (((List<?>) volumeStatus(clusterStatus(cluster, on), volume).get("replicas")).contains(on.name())) {
                        System.out.println(volume + ": done");
                        return;
                    }
                    throw new IllegalStateException(on.name() + " lost track of the rebuild of " + volume);
                }
                unreachable = false;
            } catch (java.io.IOException e) { // restarting: the rebuild goes on where it stood
                if (!unreachable) {
                    System.out.println(volume + ": " + on.name() + " does not answer (" + e.getMessage()
                            + "); waiting for it");
                    unreachable = true;
                }
                if (System.nanoTime() - lastProgress > STALL.toNanos()) {
                    throw e;
                }
                Thread.sleep(1000);
                continue;
            }
            String phase = (String) r.get("phase");
            if (!r.get("bytesDone").equals(lastDone) || !phase.equals(lastPhase)) {
                lastProgress = System.nanoTime();
                lastDone = r.get("bytesDone");
                lastPhase = phase;
                System.out.println(progressLine(volume, r));
            }
            if (phase.equals("done")) {
                return;
            }
            if (phase.equals("failed")) {
                throw new IllegalStateException("rebuilding " + volume + " on " + on.name() + " failed: " + r.get("problem"));
            }
            if (System.nanoTime() - lastProgress > STALL.toNanos()) {
                throw new IllegalStateException("the rebuild of " + volume + " on " + on.name() + " made no progress for "
                        + STALL.toMinutes() + " min (it goes on; see its log)");
            }
            Thread.sleep(1000);
        }
    }

    static String progressLine(String volume, Map<?, ?> r) {
        long done = ((Number) r.get("bytesDone")).longValue();
        Number total = (Number) r.get("bytesTotal");
        String of = total == null ? "" : " of " + Sizes.format(total.longValue())
                + (total.longValue() > 0 ? String.format(" (%d%%)", 100 * done / total.longValue()) : "");
        String line = String.format("%s: %-7s %s%s, %s/s", volume, r.get("phase"), Sizes.format(done), of,
                Sizes.format(((Number) r.get("bytesPerSecond")).longValue()));
        return r.get("etaSeconds") != null && r.get("phase").equals("copying")
                ? line + ", " + r.get("etaSeconds") + " s left" : line;
    }

    private static LocalCluster.Member running(LocalCluster cluster, String name) {
        LocalCluster.Member member = cluster.member(name);
        if (cluster.process(member).isEmpty()) {
            throw new IllegalArgumentException("node " + name + " is not running");
        }
        return member;
    }

    private static Map<?, ?> clusterStatus(LocalCluster cluster, LocalCluster.Member member) throws Exception {
        Map<?, ?> status = (Map<?, ?>) cluster.get(member, "/api/status").get("cluster");
        if (status == null) {
            throw new IllegalArgumentException("node " + member.name() + " is not in a cluster");
        }
        return status;
    }

    private static Map<?, ?> volumeStatus(Map<?, ?> status, String volume) {
        return ((List<?>) status.get("volumes")).stream().map(Map.class::cast)
                .filter(v -> volume.equals(v.get("volume"))).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no volume " + volume));
    }

    private static String encode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}

package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.target.ConfigFiles;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node lost for good, as an operator meets it with the jar: a fourth node added and the dead
 * node's replica rebuilt on it from the survivors, with progress, while an initiator writes; and
 * a volume whose majority is lost recovered from its last replica, then given replicas again.
 * Every write an initiator got GOOD for is checked through the new node's portal; bad requests
 * get one line, exit status 1, and change nothing.
 */
class ReplaceNodeIT {

    private static final String CONFIRM = "--" + RecoveryCommands.CONFIRMATION;
    private static final Pattern PROGRESS = Pattern.compile(": copying +[\\d.]+ \\w+ of [\\d.]+ \\w+ \\(\\d+%\\), "
            + "[\\d.]+ \\w+/s");

    @TempDir
    Path dir;

    int port;
    int adminPort;

    @AfterEach
    void stop() throws Exception {
        if (Files.exists(dir.resolve("cluster.json"))) {
            LocalClusterIT.raftlun("cluster", "down", "--dir", dir.toString());
        }
    }

    private void demo() throws Exception {
        port = LocalClusterIT.freePort();
        adminPort = LocalClusterIT.freePort();
        LocalClusterIT.Run demo = LocalClusterIT.raftlun("demo", "--detach", "--dir", dir.toString(), "--port",
                Integer.toString(port), "--admin-port", Integer.toString(adminPort), "--raft-port",
                Integer.toString(LocalClusterIT.freePort()), "--size", "64M");
        assertEquals(0, demo.exitCode(), demo.output());
    }

    private LocalClusterIT.Run raftlun(String... arguments) throws Exception {
        List<String> all = new ArrayList<>(List.of(arguments));
        all.addAll(List.of("--dir", dir.toString()));
        return LocalClusterIT.raftlun(all.toArray(String[]::new));
    }

    /** qemu-io through node {@code node}'s portal; fails the test on any I/O or pattern error. */
    private String qemuIo(int node, String... commands) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            command.addAll(List.of("-c", c));
        }
        command.add(LocalClusterIT.url(node, port));
        LocalClusterIT.Run run = LocalClusterIT.Shell.run(command.toArray(String[]::new));
        assertFalse(run.output().contains("failed") || run.output().contains("error"), run.output());
        assertEquals(commands.length, run.output().lines().filter(l -> l.matches("(read|wrote) \\d+/\\d+ bytes.*"))
                .count(), run.output());
        return run.output();
    }

    /** The cluster part of node {@code node}'s status. */
    private Map<?, ?> clusterStatus(int node) throws Exception {
        String token = Files.readString(dir.resolve("admin.token")).trim();
        return (Map<?, ?>) AdminClient.call(new AdminClient.Endpoint("node" + node, "127.0.0." + node + ":" + adminPort),
                token, "GET", "/api/status", null, java.time.Duration.ofSeconds(5)).get("cluster");
    }

    private static Map<?, ?> volume(Map<?, ?> cluster) {
        return (Map<?, ?>) ((List<?>) cluster.get("volumes")).get(0);
    }

    /** Bytes the rebuild in {@code saved} recorded as copied (0 before it saved anything). */
    private static long copied(Path saved) {
        try (var files = Files.list(saved)) {
            Path file = files.findFirst().orElse(null);
            Map<?, ?> position = file == null ? null
                    : (Map<?, ?>) ConfigFiles.JSON.readValue(Files.readString(file), Map.class).get("position");
            return position == null ? 0 : ((Number) position.get("bytesDone")).longValue();
        } catch (java.io.IOException | RuntimeException e) {
            return 0; // not there yet, or being written
        }
    }

    private static List<String> sorted(Object names) {
        return ((List<?>) names).stream().map(String::valueOf).sorted().toList();
    }

    private void killForGood(int node) throws Exception {
        LocalClusterIT.kill(dir, node);
        try (var files = Files.walk(dir.resolve("node" + node + "/data"))) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** One line "raftlun: ...", exit status 1. */
    private static void refused(LocalClusterIT.Run run, String expected) {
        assertEquals(1, run.exitCode(), run.output());
        String[] lines = run.output().strip().split("\n");
        assertEquals(1, lines.length, run.output());
        assertTrue(lines[0].startsWith("raftlun: ") && lines[0].contains(expected), run.output());
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void aDeadNodesReplicaIsRebuiltOnANewNodeWithProgressAndEveryWriteReadsBackThroughIt() throws Exception {
        demo();
        qemuIo(1, "write -P 0x5a 0 8M", "write -P 0x33 16M 4M", "write -P 0xc4 40M 512k");
        String volume = (String) volume(clusterStatus(1)).get("volume");

        // bad requests: one line, status 1, nothing changed
        refused(raftlun("cluster", "replace-node", "node9", "--with", "node2"), "no node node9");
        refused(raftlun("cluster", "replace-node", "node3", "--with", "node4"), "no node node4");
        refused(raftlun("cluster", "replace-node", "node3", "--with", "node2"), "node3 is running");

        killForGood(3);
        LocalClusterIT.Run added = raftlun("cluster", "add-node");
        assertEquals(0, added.exitCode(), added.output());
        assertTrue(added.output().contains("node4 added") && added.output().contains("127.0.0.4:" + port),
                added.output());
        refused(raftlun("volume", "rebuild", volume, "--on", "node1"), "node1 already holds a replica of " + volume);
        refused(raftlun("volume", "rebuild", "vol-none", "--on", "node4"), "no volume vol-none");
        refused(raftlun("volume", "rebuild", volume, "--on", "node3"), "node node3 is not running");
        refused(raftlun("volume", "rebuild", volume, "--on", "node4", "--replace", "node9"), "node9 holds no replica");
        assertEquals(List.of("node1", "node2", "node3"), sorted(volume(clusterStatus(1)).get("replicas")),
                "nothing changed");
        assertFalse(Files.exists(dir.resolve("node4/data/rebuild")), "no rebuild left behind");

        // the initiator keeps writing through the rebuild
        Process writer = new ProcessBuilder("qemu-io", "-f", "raw", "-c", "write -P 0x91 48M 2M", "-c",
                "write -P 0x92 50M 2M", "-c", "write -P 0x93 52M 2M", LocalClusterIT.url(2, port))
                .redirectErrorStream(true).start();
        long start = System.nanoTime();
        LocalClusterIT.Run replaced = raftlun("cluster", "replace-node", "node3", "--with", "node4", "--rate", "4M");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(0, replaced.exitCode(), replaced.output());
        String wrote = new String(writer.getInputStream().readAllBytes());
        assertTrue(writer.waitFor(60, TimeUnit.SECONDS) && wrote.lines().filter(l -> l.startsWith("wrote 2097152/"))
                .count() == 3, wrote);
        Matcher progress = PROGRESS.matcher(replaced.output());
        assertTrue(progress.find(), "the command shows bytes, total and rate while copying:\n" + replaced.output());
        assertTrue(replaced.output().contains(": done") && replaced.output().contains("node3 replaced by node4"),
                replaced.output());
        System.out.printf("replace-node: %.1f s at --rate 4M%n%s", seconds, replaced.output());

        // healthy with three replicas, the new one among them, none lagging
        Map<?, ?> leaderView = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (int node : new int[] {1, 2, 4}) {
                Map<?, ?> v = volume(clusterStatus(node));
                if ("LEADER".equals(v.get("role"))) {
                    leaderView = v;
                }
            }
            if (leaderView != null && ((Map<?, ?>) leaderView.get("lag")).size() == 3
                    && ((Map<?, ?>) leaderView.get("lag")).values().stream().allMatch(l -> ((Number) l).longValue() == 0)) {
                break;
            }
            Thread.sleep(250);
        }
        assertTrue(leaderView != null, "the volume has a leader");
        assertEquals(List.of("node1", "node2", "node4"), sorted(leaderView.get("replicas")));
        assertEquals(java.util.Set.of("node1", "node2", "node4"), ((Map<?, ?>) leaderView.get("lag")).keySet(),
                "the Raft group's members: " + leaderView);
        assertTrue(((Map<?, ?>) leaderView.get("lag")).values().stream().allMatch(l -> ((Number) l).longValue() == 0),
                "no replica lags: " + leaderView);
        assertEquals(List.of("node1", "node2", "node4"), clusterStatus(4).get("members"));

        // the rebuild shows in node4's metrics
        String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.4:"
                + adminPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher done = Pattern.compile("raftlun_rebuild_bytes_done\\{[^}]*volume=\"" + volume + "\"[^}]*} (\\S+)")
                .matcher(metrics);
        assertTrue(done.find() && Double.parseDouble(done.group(1)) >= 12 * 1024 * 1024, metrics);
        assertTrue(Pattern.compile("raftlun_rebuild_bytes_remaining\\{[^}]*} 0\\.0").matcher(metrics).find(), metrics);

        // every write reads back through the new node's portal
        qemuIo(4, "read -P 0x5a 0 8M", "read -P 0x33 16M 4M", "read -P 0xc4 40M 512k", "read -P 0x91 48M 2M",
                "read -P 0x92 50M 2M", "read -P 0x93 52M 2M", "read -P 0 8M 8M");

        // and the new replica holds the same blocks as the others, block for block
        assertEquals(0, raftlun("cluster", "down").exitCode());
        SortedMap<Long, Integer> first = null;
        for (int node : new int[] {1, 2, 4}) {
            try (NodeStorage storage = NodeStorage.open(dir.resolve("node" + node + "/data"))) {
                SortedMap<Long, Integer> crcs = storage.store(volume).allocatedCrcs();
                assertTrue(crcs.size() >= (8 + 4 + 6) * 2048, "node" + node + " holds the data");
                if (first == null) {
                    first = crcs;
                } else {
                    assertEquals(first, crcs, "node" + node + "'s block map agrees with node1's");
                }
            }
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void aVolumeWhoseMajorityIsLostIsRecoveredFromTheSurvivorWithEveryWriteItHeld() throws Exception {
        demo();
        qemuIo(2, "write -P 0x5a 0 8M", "write -P 0x33 16M 4M");
        qemuIo(3, "write -P 0x6b 24M 1M");
        String volume = (String) volume(clusterStatus(1)).get("volume");

        refused(raftlun("volume", "recover", volume, "--from-survivor", "node1"), "without " + CONFIRM);
        refused(raftlun("volume", "recover", volume, "--from-survivor", "node1", CONFIRM),
                "a majority of its replicas is reachable; nothing changed");
        refused(raftlun("volume", "recover", "vol-none", "--from-survivor", "node1", CONFIRM), "no volume vol-none");
        qemuIo(1, "read -P 0x5a 0 8M", "write -P 0x7c 30M 1M"); // still served by its three replicas
        assertEquals(List.of("node1", "node2", "node3"), sorted(volume(clusterStatus(1)).get("replicas")));

        killForGood(2);
        killForGood(3);
        LocalClusterIT.Run recovered = raftlun("volume", "recover", volume, "--from-survivor", "node1", CONFIRM);
        assertEquals(0, recovered.exitCode(), recovered.output());
        Matcher index = Pattern.compile("recovering to log index (\\d+)").matcher(recovered.output());
        assertTrue(index.find() && Long.parseLong(index.group(1)) > 0, recovered.output());
        assertTrue(recovered.output().contains("the meta group too"), recovered.output());
        assertTrue(recovered.output().contains("served by node1 (replicas [node1]"), recovered.output());
        System.out.print(recovered.output());

        // every write acknowledged before the loss, through the survivor; and it takes new ones
        qemuIo(1, "read -P 0x5a 0 8M", "read -P 0x33 16M 4M", "read -P 0x6b 24M 1M", "read -P 0x7c 30M 1M",
                "write -P 0x8d 40M 1M");

        // replicas again: a new node, rebuilt from the survivor
        assertEquals(0, raftlun("cluster", "add-node").exitCode());
        LocalClusterIT.Run rebuilt = raftlun("volume", "rebuild", volume, "--on", "node4");
        assertEquals(0, rebuilt.exitCode(), rebuilt.output());
        assertEquals(List.of("node1", "node4"), sorted(volume(clusterStatus(1)).get("replicas")));
        qemuIo(4, "read -P 0x5a 0 8M", "read -P 0x6b 24M 1M", "read -P 0x7c 30M 1M", "read -P 0x8d 40M 1M");
    }

    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void aRebuildGoesOnAfterTheNewNodeIsKilledAndTheLeaderRestarts() throws Exception {
        demo();
        qemuIo(1, "write -P 0x3e 0 24M");
        killForGood(3);
        assertEquals(0, raftlun("cluster", "add-node").exitCode());
        List<String> command = new ArrayList<>(List.of("java", "-jar", System.getProperty("raftlun.jar"), "cluster",
                "replace-node", "node3", "--with", "node4", "--rate", "2M", "--dir", dir.toString()));
        Process replace = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            Path saved = dir.resolve("node4/data/rebuild");
            long doneBeforeKill = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (doneBeforeKill < 2 * 1024 * 1024 && System.nanoTime() < deadline) { // a few batches in
                Thread.sleep(100);
                doneBeforeKill = copied(saved);
            }
            LocalClusterIT.kill(dir, 4); // mid-copy
            doneBeforeKill = copied(saved);
            assertTrue(doneBeforeKill > 0 && doneBeforeKill < 24 * 1024 * 1024, "killed mid-copy: " + doneBeforeKill);
            LocalClusterIT.restart(dir, 4);
            int leader = LocalClusterIT.leaderIn(dir);
            LocalClusterIT.kill(dir, leader);
            LocalClusterIT.restart(dir, leader);

            String output = new String(replace.getInputStream().readAllBytes());
            assertTrue(replace.waitFor(180, TimeUnit.SECONDS), output);
            assertEquals(0, replace.exitValue(), output);
            assertTrue(output.contains("node4 does not answer") && output.contains("node3 replaced by node4"), output);
            // after the restart the copy went on from where it stood, not from the start
            Matcher copied = Pattern.compile("copying +([\\d.]+) MiB").matcher(output.substring(
                    output.indexOf("does not answer")));
            assertTrue(copied.find() && Double.parseDouble(copied.group(1)) * 1024 * 1024 >= doneBeforeKill, output);
            qemuIo(4, "read -P 0x3e 0 24M");
        } finally {
            replace.destroyForcibly();
        }
    }
}

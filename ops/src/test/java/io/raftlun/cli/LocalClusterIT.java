package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The raftlun jar as a new user meets it: the demo (three node processes on 127.0.0.1-3) started in
 * the background, found by iscsi-ls, shown by cluster status, refused a second start, stopped by
 * cluster down; acknowledged writes surviving kill -9; mistakes answered in one line with exit
 * status 1.
 */
class LocalClusterIT {

    @TempDir
    Path dir;

    record Run(int exitCode, String output) {
    }

    static Run raftlun(String... arguments) throws IOException, InterruptedException {
        return raftlun(java.util.Map.of(), arguments);
    }

    /** The jar run with {@code environment} added to this one's. */
    static Run raftlun(java.util.Map<String, String> environment, String... arguments)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("java", "-jar", System.getProperty("raftlun.jar")));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(environment);
        Process process = builder.start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("raftlun " + String.join(" ", arguments) + " did not finish");
        }
        return new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @AfterEach
    void stopWhateverRuns() throws Exception {
        if (Files.exists(dir.resolve("cluster.json"))) {
            raftlun("cluster", "down", "--dir", dir.toString());
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void demoStartsIsDiscoveredShownAndStopped() throws Exception {
        int port = freePort();
        Run demo = raftlun("demo", "--detach", "--dir", dir.toString(), "--port", Integer.toString(port),
                "--admin-port", Integer.toString(freePort()), "--raft-port", Integer.toString(freePort()),
                "--size", "64M");
        assertEquals(0, demo.exitCode(), demo.output());
        assertTrue(demo.output().contains("iscsi-ls iscsi://127.0.0.1:" + port), demo.output());

        Run listing = Shell.run("iscsi-ls", "-s", "iscsi://127.0.0.2:" + port);
        assertEquals(0, listing.exitCode(), listing.output());
        assertTrue(listing.output().contains("Target:" + DemoCommand.IQN) && listing.output().contains("Lun:1"),
                listing.output());
        for (int i = 1; i <= 3; i++) {
            assertTrue(listing.output().contains("127.0.0." + i + ":" + port), "every node's portal is announced:\n"
                    + listing.output());
        }

        Run status = raftlun("cluster", "status", "--dir", dir.toString());
        assertEquals(0, status.exitCode(), status.output());
        assertTrue(status.output().contains("node1    up") && status.output().contains("node3    up")
                && status.output().contains("LUN 1: 64 MiB") && status.output().contains("cluster leader node"),
                status.output());

        Run again = raftlun("demo", "--detach", "--dir", dir.toString(), "--port", Integer.toString(port));
        assertEquals(1, again.exitCode(), again.output());
        assertTrue(again.output().startsWith("raftlun: a cluster is already running"), again.output());

        Run down = raftlun("cluster", "down", "--dir", dir.toString());
        assertEquals(0, down.exitCode(), down.output());
        assertTrue(down.output().contains("stopped node1") && down.output().contains("stopped node3"), down.output());
        Run after = raftlun("cluster", "status", "--dir", dir.toString());
        assertEquals(1, after.exitCode(), after.output());
        assertTrue(after.output().contains("down"), after.output());
        assertFalse(Files.exists(dir.resolve("node1/node.pid")));
        String log = Files.readString(dir.resolve("node1/node.log"));
        assertFalse(log.contains("log checksum class"), "the jar leaves out Ratis's slow log checksum:\n" + log);
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void theSurvivorsServeAcknowledgedWritesWhenTheLeaderIsKilledAndItCatchesUpWhenBack() throws Exception {
        int port = demoWith4MiBWritten();

        int leader = volumeLeader();
        kill(dir, leader);

        int survivor = leader % 3 + 1;
        Run read = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 4M", "-c", "write -P 0xa5 8M 1M",
                url(survivor, port));
        assertFalse(read.output().contains("Pattern verification failed"), read.output());
        assertTrue(read.output().contains("wrote 1048576/1048576"), "the survivors accept writes:\n" + read.output());

        restart(dir, leader); // as an operator would start it; it catches up
        Run again = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 4M", "-c", "read -P 0xa5 8M 1M",
                "-c", "read -P 0 4M 4M", url(leader, port));
        assertFalse(again.output().contains("Pattern verification failed"), again.output());
        assertEquals(3, again.output().lines().filter(l -> l.contains("read ") && l.contains("bytes at offset"))
                .count(), again.output());
    }

    /** The 3-node demo of a 64 MiB LUN in the background, 4 MiB of 0x5a written through node 1; its port. */
    int demoWith4MiBWritten() throws Exception {
        int port = freePort();
        assertEquals(0, raftlun("demo", "--detach", "--dir", dir.toString(), "--port", Integer.toString(port),
                "--admin-port", Integer.toString(freePort()), "--raft-port", Integer.toString(freePort()),
                "--size", "64M").exitCode());
        Run wrote = Shell.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 4M", url(1, port));
        assertTrue(wrote.output().contains("wrote 4194304/4194304"), wrote.output());
        return port;
    }

    /** kill -9 of node {@code node} of the cluster in {@code dir}. */
    static void kill(Path dir, int node) throws Exception {
        Path pidFile = dir.resolve("node" + node + "/node.pid");
        ProcessHandle process = ProcessHandle.of(Long.parseLong(Files.readString(pidFile).trim())).orElseThrow();
        process.destroyForcibly();
        process.onExit().get(30, TimeUnit.SECONDS);
        Files.delete(pidFile); // left behind by the killed process; a restarted node writes its own
    }

    /** Starts node {@code node} again with its config file, and waits until it serves. */
    static void restart(Path dir, int node) throws Exception {
        Path pidFile = dir.resolve("node" + node + "/node.pid");
        Process process = new ProcessBuilder("java", "-jar", System.getProperty("raftlun.jar"), "node", "--config",
                dir.resolve("node" + node + "/node.json").toString(), "--pid-file", pidFile.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("node" + node + "/node.log").toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(pidFile) && process.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(Files.exists(pidFile), "node " + node + " restarted");
    }

    static String url(int node, int port) {
        return "iscsi://127.0.0." + node + ":" + port + "/" + DemoCommand.IQN + "/1";
    }

    /** The node number of LUN 1's volume leader, from cluster status. */
    int volumeLeader() throws Exception {
        return leaderIn(dir);
    }

    static int leaderIn(Path dir) throws Exception {
        Run status = raftlun("cluster", "status", "--dir", dir.toString(), "-o", "json");
        java.util.regex.Matcher leader = java.util.regex.Pattern.compile("\"leader\"\\s*:\\s*\"node(\\d)\"")
                .matcher(status.output());
        assertTrue(leader.find(), status.output());
        return Integer.parseInt(leader.group(1));
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aLoneNodesAcknowledgedWritesSurviveKillDashNine() throws Exception {
        int port = freePort();
        String[] demo = {"demo", "--detach", "--nodes", "1", "--dir", dir.toString(), "--port", Integer.toString(port),
            "--admin-port", Integer.toString(freePort()), "--size", "64M"};
        assertEquals(0, raftlun(demo).exitCode());
        String url = "iscsi://127.0.0.1:" + port + "/" + DemoCommand.IQN + "/1";
        // Written without any flush: acknowledged is enough to survive the process dying.
        Run wrote = Shell.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 4M", "-c", "write -P 0xa5 8M 1M", url);
        assertTrue(wrote.output().contains("wrote 1048576/1048576"), wrote.output());
        long pid = Long.parseLong(Files.readString(dir.resolve("node1/node.pid")).trim());
        ProcessHandle node = ProcessHandle.of(pid).orElseThrow();
        node.destroyForcibly();
        node.onExit().get(30, TimeUnit.SECONDS);

        assertEquals(0, raftlun(demo).exitCode(), "the demo starts again on the same directory");
        Run read = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 4M", "-c", "read -P 0xa5 8M 1M",
                "-c", "read -P 0 4M 4M", url);
        assertFalse(read.output().contains("Pattern verification failed"), read.output());
        assertEquals(3, read.output().lines().filter(l -> l.contains("read ") && l.contains("bytes at offset"))
                .count(), read.output());
    }

    /**
     * Bit rot under a stopped node's replica: after the cluster is up again, {@code volume scrub}
     * names the blocks and repairs them, {@code volume verify} agrees, reads through that node
     * return the data, and {@code store export} of the node, stopped, gives the SHA-256 of what
     * the initiator read.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void scrubRepairsBitRotAndExportGivesWhatTheInitiatorRead() throws Exception {
        int port = demoWith4MiBWritten();
        Path read = dir.resolve("read.raw");
        assertEquals(0, Shell.run("qemu-img", "convert", "-f", "raw", "-O", "raw", url(3, port), read.toString())
                .exitCode());
        String sha = Shell.run("sha256sum", read.toString()).output().split(" ")[0];
        java.util.regex.Matcher named = java.util.regex.Pattern.compile("\"volume\"\\s*:\\s*\"(vol-[0-9a-f]+)\"")
                .matcher(raftlun("cluster", "status", "--dir", dir.toString(), "-o", "json").output());
        assertTrue(named.find());
        String volume = named.group(1);
        Path data = dir.resolve("node3/data");
        Run running = raftlun("store", "export", "--data-dir", data.toString(), volume, dir.resolve("x").toString());
        assertEquals(1, running.exitCode(), running.output());
        assertTrue(running.output().strip().endsWith("(storage.lock is held)"), running.output());

        assertEquals(0, raftlun("cluster", "down", "--dir", dir.toString()).exitCode());
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(data.resolve("volumes/1.data").toFile(),
                "rw")) {
            for (long block : new long[] {100, 5000}) {
                file.seek(block * 512 + 9);
                file.write(0xa5); // was 0x5a
            }
        }
        assertEquals(0, raftlun("cluster", "up", "--dir", dir.toString()).exitCode());
        Run scrub = raftlun("volume", "scrub", volume, "--dir", dir.toString(), "--rate", "128");
        assertEquals(0, scrub.exitCode(), scrub.output());
        assertTrue(scrub.output().contains("2 corrupt, 2 repaired") && scrub.output().contains("block 100 on node3: "
                + "repaired from node") && scrub.output().contains("block 5000 on node3: repaired from node"),
                scrub.output());
        Run verify = raftlun("volume", "verify", volume, "--dir", dir.toString());
        assertEquals(0, verify.exitCode(), verify.output());
        assertTrue(verify.output().contains("the replicas agree"), verify.output());
        Run unknown = raftlun("volume", "verify", "vol-nope", "--dir", dir.toString());
        assertEquals(1, unknown.exitCode(), unknown.output());
        assertTrue(unknown.output().strip().endsWith("no volume vol-nope in the cluster"), unknown.output());
        Run again = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x5a 0 4M", url(3, port));
        assertFalse(again.output().contains("Pattern verification failed"), again.output());

        assertEquals(0, raftlun("cluster", "down", "--dir", dir.toString()).exitCode());
        Path image = dir.resolve("node3.raw");
        Run export = raftlun("store", "export", "--data-dir", data.toString(), volume, image.toString());
        assertEquals(0, export.exitCode(), export.output());
        assertTrue(export.output().contains(sha + "  " + image), "the initiator read " + sha + ":\n" + export.output());
    }

    @Test
    void mistakesGetOneLineAndStatusOne() throws Exception {
        for (String[] mistake : new String[][] {
                {"node", "--data-dir", dir.resolve("d").toString(), "--target", "iqn.2026-11.io.raftlun:x",
                        "--lun", "1:10Q"},
                {"node", "--target", "iqn.2026-11.io.raftlun:x"},
                {"node", "--data-dir", dir.resolve("d").toString(), "--portal", "127.0.0.1:99999"},
                {"node", "--data-dir", dir.resolve("d").toString(), "--portal", "127.0.0.1:0", "--admin",
                        "127.0.0.1:0", "--target", "not-an-iqn", "--lun", "1:1M"},
                {"cluster", "status", "--dir", dir.resolve("nothing-here").toString()},
                {"demo", "--nodes", "12", "--dir", dir.resolve("x").toString()}}) {
            Run run = raftlun(mistake);
            assertEquals(1, run.exitCode(), String.join(" ", mistake) + ":\n" + run.output());
            String[] lines = run.output().strip().split("\n");
            String last = lines[lines.length - 1];
            assertTrue(last.startsWith("raftlun: "), String.join(" ", mistake) + ":\n" + run.output());
            assertFalse(run.output().contains("\tat "), "no stack trace:\n" + run.output());
        }
        Run usage = raftlun("node", "--no-such-option");
        assertEquals(2, usage.exitCode(), usage.output());
    }

    /** The real tools, for what a user would type next. */
    static final class Shell {
        static Run run(String... command) throws IOException, InterruptedException {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output = process.getInputStream().readAllBytes();
            process.waitFor(60, TimeUnit.SECONDS);
            return new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        }
    }
}

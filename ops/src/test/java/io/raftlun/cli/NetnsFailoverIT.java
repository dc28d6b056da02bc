package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * High availability for a single-path initiator across hosts: {@code src/main/resources/netns/failover.sh}
 * builds three node hosts and an initiator host in network namespaces on a bridge, mounts ext4
 * through the floating portal, kills the holder (and volume leader), then cuts the next holder
 * off the network, while files are written with fsync; it checks that no I/O error reached the
 * filesystem, fsck is clean and every fsynced file reads back. Needs root (namespaces, mount).
 */
class NetnsFailoverIT {

    /**
     * A regression guard well above the target (2 s) and the stalls measured (0.4-2.4 s, the longer
     * ones on a loaded machine), not the measurement, which is printed; below the 7.2-7.3 s of a
     * write forwarded to the cut-off leader that waited out Ratis's request timeout and a random
     * resend. The script itself checks that the initiator reconnects at once after a partition
     * (its connection reset by the new holder) rather than at its next ping, up to 5 s later.
     */
    static final double STALL_LIMIT_SECONDS = 6;
    /**
     * The partition's own guard: 0.64-1.38 s in 73 runs otherwise, but 3.8-4.4 s in 7 runs of 80
     * while a Raft client abandoned at the cut-off leader was closed on the retry thread,
     * holding up the resend of its writes for gRPC's 3 s channel shutdown.
     */
    static final double PARTITION_STALL_LIMIT_SECONDS = 3;

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void ext4ThroughTheFloatingPortalSurvivesAKillAndAPartition(@TempDir Path work) throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "network namespaces, losetup and mount need root (CI runs as root)");
        Process script = new ProcessBuilder("bash", Path.of("src/main/resources/netns/failover.sh").toAbsolutePath().toString(),
                System.getProperty("raftlun.jar"), work.toString()).redirectErrorStream(true).start();
        String output = new String(script.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(script.waitFor(11, TimeUnit.MINUTES), "failover.sh finished");
        System.out.println(output);
        assertEquals(0, script.exitValue(), output + logs(work));
        Map<String, Double> measured = new HashMap<>();
        output.lines().map(line -> line.split(" ")).filter(words -> words.length == 3 && words[0].equals("stall"))
                .forEach(words -> measured.put(words[1], Double.parseDouble(words[2])));
        assertEquals(4, measured.size(), output); // drain, kill, rejoin, partition
        measured.forEach((phase, seconds) -> assertTrue(seconds < STALL_LIMIT_SECONDS,
                "longest write stall across the " + phase + ": " + seconds + " s"));
        assertTrue(measured.get("partition") < PARTITION_STALL_LIMIT_SECONDS,
                "longest write stall across the partition: " + measured.get("partition") + " s");
        assertTrue(output.lines().anyMatch(line -> line.matches("files [1-9][0-9]+")), output);
    }

    private static String logs(Path work) throws Exception {
        StringBuilder logs = new StringBuilder();
        for (String file : new String[] {"n1/node.log", "n2/node.log", "n3/node.log", "qsd.log", "writer.err"}) {
            Path path = work.resolve(file);
            if (Files.exists(path)) {
                logs.append("\n--- ").append(file).append(" (last lines)\n")
                        .append(LocalCluster.tail(path, 20));
            }
        }
        return logs.toString();
    }
}

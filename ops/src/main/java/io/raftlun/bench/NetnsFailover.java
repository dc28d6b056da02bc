package io.raftlun.bench;

import io.raftlun.cli.LocalCluster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The failover pause, measured across hosts: the failover script (the same one the test suite
 * runs) makes three node hosts and an initiator host in network namespaces on a bridge; QEMU's
 * libiscsi attaches the LUN through the floating portal, ext4 on it is written with fsync, and
 * the node holding the portal and leading the volume is drained, then the next one is killed with
 * {@code kill -9}, then the next one is cut off the bridge. The pause of each event is the longest
 * write+fsync across it. Loopback alone cannot show this: every 127/8 address is local, so the dead node's address
 * would refuse reconnects as no real network does. Needs root, iproute2 and iputils-arping.
 */
final class NetnsFailover {

    private static final String SCRIPT = "/netns/failover.sh";

    private NetnsFailover() {
    }

    /** One run of the script in {@code workDir}; a failed run (an I/O error reached ext4) throws. */
    static List<Measurement> run(Path workDir, Integer electionTimeoutMs) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(workDir.resolve("failover"));
        Path script = dir.resolve("failover.sh");
        try (InputStream in = NetnsFailover.class.getResourceAsStream(SCRIPT)) {
            if (in == null) {
                throw new IOException("the jar lacks " + SCRIPT);
            }
            Files.copy(in, script, StandardCopyOption.REPLACE_EXISTING);
        }
        Path log = dir.resolve("failover.log");
        ProcessBuilder builder = new ProcessBuilder("bash", script.toString(), LocalCluster.jar().toString(),
                dir.resolve("run").toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        if (electionTimeoutMs != null) {
            builder.environment().put("ELECTION_TIMEOUT_MS", electionTimeoutMs.toString());
        }
        Process process = builder.start();
        if (!process.waitFor(11, TimeUnit.MINUTES)) {
            process.destroy(); // the script removes its namespaces on the way out
            process.waitFor(30, TimeUnit.SECONDS);
            throw new IOException("the failover run did not finish within 11 minutes; see " + log);
        }
        List<String> output = Files.readAllLines(log);
        if (process.exitValue() != 0) {
            throw new IOException("the failover run failed: "
                    + output.stream().filter(l -> l.contains("FAILED")).findFirst().orElse("see " + log));
        }
        List<Measurement> pauses = new ArrayList<>();
        for (String line : output) {
            String[] words = line.split(" ");
            if (words.length == 3 && words[0].equals("stall")) {
                String event = switch (words[1]) {
                    case "drain" -> "drain of portal holder + leader";
                    case "kill" -> "kill -9 of portal holder + leader";
                    case "rejoin" -> "killed node back, catching up";
                    default -> "portal holder partitioned";
                };
                pauses.add(new Measurement(RaftlunNodes.CLUSTER, "failover pause, " + event, "s", Double.parseDouble(words[2]), false));
            }
        }
        if (pauses.size() != 4) {
            throw new IOException("the failover run printed no pauses; see " + log);
        }
        return pauses;
    }
}

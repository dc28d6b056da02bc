package io.raftlun.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A replica rebuilt on a new node, as {@code raftlun volume rebuild} does after a node is lost for
 * good: node 4 joins raftlun-rf3's cluster and copies every allocated chunk of the LUN's volume
 * from its leader (no rate limit), then becomes a member of the volume's Raft group. Measured: the
 * data copied, the copy rate, and the time until the new replica is a member.
 */
final class RebuildRate {

    private static final Duration LIMIT = Duration.ofMinutes(5);
    private static final long POLL_MILLIS = 50;
    private static final double MIB = 1024.0 * 1024.0;

    private RebuildRate() {
    }

    static List<Measurement> run(RaftlunNodes cluster, java.nio.file.Path workDir) throws Exception {
        int added = cluster.addNode(workDir);
        String volume = cluster.volumeName();
        long start = System.nanoTime();
        cluster.startRebuild(added, volume);
        Long copied = null; // when the copy phase was seen over
        long bytes = 0;
        while (true) {
            Map<?, ?> status = cluster.rebuild(added, volume);
            long now = System.nanoTime();
            if (status == null) {
                throw new IOException("node" + (added + 1) + " reports no rebuild of " + volume);
            }
            String phase = (String) status.get("phase");
            if (phase.equals("failed")) {
                throw new IOException("the rebuild on node" + (added + 1) + " failed: " + status.get("problem"));
            }
            if (copied == null && !phase.equals("copying")) {
                copied = now;
                bytes = ((Number) status.get("bytesDone")).longValue();
            }
            if (phase.equals("done")) {
                String name = cluster.name();
                double copySeconds = Math.max(copied - start, POLL_MILLIS * 1_000_000L) / 1e9;
                return List.of(
                        new Measurement(name, "rebuild of a replica, data copied", "MiB", bytes / MIB, true),
                        new Measurement(name, "rebuild of a replica, copy rate", "MiB/s", bytes / MIB / copySeconds,
                                true),
                        new Measurement(name, "rebuild of a replica, until a member", "s", (now - start) / 1e9,
                                false));
            }
            if (now - start > LIMIT.toNanos()) {
                throw new IOException("the rebuild on node" + (added + 1) + " is still " + phase + " after "
                        + LIMIT.toMinutes() + " min (" + status.get("bytesDone") + " bytes copied)");
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}

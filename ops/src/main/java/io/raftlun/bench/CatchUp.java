package io.raftlun.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * A replica away while its volume changes: a follower of raftlun-rf3's volume is stopped, 1% of the
 * LUN is written through the volume's leader (64 KiB writes spread evenly over the whole LUN), and
 * the follower is started again. Measured: the time from its start until it has applied everything
 * committed while it was away, the part of it after its node first answered (the JVM and the Raft
 * server started), and the data changed over that part.
 */
final class CatchUp {

    static final int WRITE_BYTES = 64 * 1024;
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private static final long POLL_MILLIS = 20;
    private static final double MIB = 1024.0 * 1024.0;

    private CatchUp() {
    }

    static List<Measurement> run(RaftlunNodes cluster, long lunBytes) throws Exception {
        int away = cluster.volumeFollower();
        cluster.stopNode(away);
        long writes = Math.max(1, lunBytes / 100 / WRITE_BYTES);
        long step = lunBytes / writes / WRITE_BYTES * WRITE_BYTES;
        String output = Processes.run(Duration.ofMinutes(5), List.of("qemu-img", "bench", "-f", "raw", "-t", "none",
                "-i", "threads", "-w", "-c", Long.toString(writes), "-d", "8", "-s", Integer.toString(WRITE_BYTES),
                "-S", Long.toString(step), QemuImgBench.image(cluster, lunBytes)));
        if (!output.contains("Run completed")) {
            throw new IllegalStateException("qemu-img bench printed no result:\n" + output);
        }
        long committed = -1;
        for (int node = 0; node < 3; node++) {
            if (node != away) {
                committed = Math.max(committed, cluster.volumeIndex(node, "commitIndex"));
            }
        }
        if (committed < 0) {
            throw new IOException("the nodes that stayed answer no commit index");
        }
        long start = System.nanoTime();
        cluster.restartNode(away);
        long answered = 0;
        while (true) {
            long applied = cluster.volumeIndex(away, "appliedIndex");
            long now = System.nanoTime();
            if (applied >= 0 && answered == 0) {
                answered = now;
            }
            if (applied >= committed) {
                double changedMib = writes * WRITE_BYTES / MIB;
                // at least one poll: a node that had caught up by its first answer took at most that
                double serving = Math.max(now - answered, POLL_MILLIS * 1_000_000L) / 1e9;
                String name = cluster.name();
                return List.of(
                        new Measurement(name, "catch-up of 1% changed, from start", "s", (now - start) / 1e9, false),
                        new Measurement(name, "catch-up of 1% changed, once up", "s", serving, false),
                        new Measurement(name, "catch-up rate once up", "MiB/s", changedMib / serving, true));
            }
            if (now - start > LIMIT.toNanos()) {
                throw new IOException("node" + (away + 1) + " had applied " + applied + " of " + committed
                        + " after " + LIMIT.toSeconds() + " s back");
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}

package io.raftlun.cluster;

import io.raftlun.replication.ReplicaRebuild;
import io.raftlun.target.ConfigFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One replica being rebuilt on this node, and how far it got: copying (bytes done of the total,
 * rate), joining (placed here, becoming a member of the volume's group), done or failed. Saved in
 * the data directory while it runs, so it goes on after a restart.
 */
public final class Rebuild {

    /** What is saved: enough to go on where the copy stood. */
    record Saved(String volume, String replacing, long bytesPerSecond, ReplicaRebuild.Position position) {
        Rebuild resume() {
            return new Rebuild(volume, replacing, bytesPerSecond, position);
        }
    }

    private final String volume;
    private final String replacing;
    private final long bytesPerSecond;
    private volatile ReplicaRebuild.Position position;
    private volatile ReplicaRebuild copy;
    private volatile String phase = "copying";
    private volatile String problem;

    Rebuild(String volume, String replacing, long bytesPerSecond, ReplicaRebuild.Position position) {
        this.volume = volume;
        this.replacing = replacing;
        this.bytesPerSecond = bytesPerSecond;
        this.position = position;
    }

    public String volume() {
        return volume;
    }

    String replacing() {
        return replacing;
    }

    long bytesPerSecond() {
        return bytesPerSecond;
    }

    ReplicaRebuild.Position position() {
        return position;
    }

    void copying(ReplicaRebuild copy) {
        this.copy = copy;
    }

    void copied(ReplicaRebuild.Position position) {
        this.position = position;
    }

    void phase(String phase) {
        this.phase = phase;
    }

    void failed(String problem) {
        this.problem = problem;
        this.phase = "failed";
    }

    void save(Path file) {
        try {
            Files.createDirectories(file.getParent());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ConfigFiles.write(file, new Saved(volume, replacing, bytesPerSecond, position));
    }

    /** Copying or joining: neither done nor failed. */
    boolean underWay() {
        return phase.equals("copying") || phase.equals("joining");
    }

    public boolean copying() {
        return phase.equals("copying");
    }

    public long bytesDone() {
        ReplicaRebuild.Position p = position;
        return p == null ? 0 : p.bytesDone();
    }

    /** Bytes still to copy: 0 once copied (what the log adds afterwards is Raft's to send). */
    public long bytesRemaining() {
        ReplicaRebuild.Position p = position;
        return p == null || !copying() ? 0 : Math.max(0, p.bytesTotal() - p.bytesDone());
    }

    public double bytesPerSecondNow() {
        ReplicaRebuild c = copy;
        return c == null || !copying() ? 0 : c.rate();
    }

    /** For {@code /api/status} and the CLI's progress lines. */
    public Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("volume", volume);
        s.put("replacing", replacing);
        s.put("phase", phase);
        ReplicaRebuild.Position p = position;
        s.put("bytesDone", bytesDone());
        s.put("bytesTotal", p == null ? null : p.bytesTotal());
        s.put("bytesRemaining", bytesRemaining());
        double rate = bytesPerSecondNow();
        s.put("bytesPerSecond", Math.round(rate));
        s.put("etaSeconds", rate > 0 ? Math.round(bytesRemaining() / rate) : null);
        s.put("rateLimit", bytesPerSecond);
        s.put("fromIndex", p == null ? null : p.index());
        if (problem != null) {
            s.put("problem", problem);
        }
        return s;
    }
}

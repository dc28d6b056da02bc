package io.raftlun.replication;

import io.raftlun.blockstore.BlockStore;
import io.raftlun.consensus.RaftNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scrub or a verify of one volume's replicas, run online from any node, in the background, at a
 * bounded rate, with progress.
 *
 * <p>Scrub: each replica reads its allocated blocks, a step at a time, and checks them against its
 * own block map (a query to that replica). A corrupt block is repaired through the volume's log: a
 * REPAIR entry carries the chunk as a healthy replica holds it, and every replica whose copy is
 * corrupt rewrites it, only if its chunk has the same last log index and the copy matches its own
 * CRC32C. Being in the log, a repair is ordered with the writes: it can never undo a newer one.
 *
 * <p>Verify: each replica's block map, chunk by chunk as 20-byte digests (last index, allocated
 * blocks, CRC32C of their CRCs), compared across replicas without shipping data. Each replica
 * takes its digests when it applies one log entry, so all are taken at the same point of the log
 * and a chunk written meanwhile is never mistaken for a difference.
 */
public final class VolumeCheck {

    private static final Logger log = LoggerFactory.getLogger(VolumeCheck.class);

    public enum Kind { SCRUB, VERIFY }

    /** MiB/s read (scrub) or covered (verify) by default: about a tenth of a disk, so I/O goes on. */
    public static final int DEFAULT_RATE_MIB = 64;
    static final Duration ASK_TIMEOUT = Duration.ofSeconds(30);
    /** Data a replica reads per scrub step. */
    static final long STEP_BYTES = 4L << 20;
    /**
     * Chunks compared per verify step: 1024 digests, 24 KiB per replica, taken on each replica's
     * applying thread (a pause of a few milliseconds for the writes behind them).
     */
    static final long DIGEST_CHUNKS = 1024;

    private final Kind kind;
    private final String volume;
    private final int blockSize;
    private final long chunks;
    private final Replicas replicas;
    private final long bytesPerSecond;
    private final long startNanos = System.nanoTime();
    private long paced;
    private volatile String state = "running";
    private volatile String error;
    private volatile double progress;
    private volatile long blocksChecked;
    private volatile long finishedNanos;
    private final List<Map<String, Object>> findings = Collections.synchronizedList(new ArrayList<>());
    private final List<String> unreachable = Collections.synchronizedList(new ArrayList<>());

    /** How a check reaches the replicas of a volume. */
    public interface Replicas {
        List<String> members();

        /** The answer of one replica to a query (after a read barrier there, for a replica in a group). */
        CompletableFuture<Message> ask(String member, Message query);

        /** Appends an entry to the volume's log; its index once committed. */
        CompletableFuture<Long> append(Message entry);
    }

    /** The replicas of a volume's Raft group, as this node reaches them. */
    public static Replicas raftGroup(RaftNode raft, Supplier<RaftGroup> group) {
        return new Replicas() {
            @Override
            public List<String> members() {
                return group.get().getPeers().stream().map(peer -> peer.getId().toString()).toList();
            }

            @Override
            public CompletableFuture<Message> ask(String member, Message query) {
                return raft.readFrom(group.get(), member, query);
            }

            @Override
            public CompletableFuture<Long> append(Message entry) {
                return raft.write(group.get(), entry).thenApply(RaftNode.Committed::index);
            }
        };
    }

    /**
     * A lone node's volume: one copy, scrubbed in place; no other replica to repair it from or
     * compare it with, and no log.
     */
    public static Replicas lone(String node, BlockStore store) {
        return new Replicas() {
            @Override
            public List<String> members() {
                return List.of(node);
            }

            @Override
            public CompletableFuture<Message> ask(String member, Message query) {
                java.nio.ByteBuffer in = query.getContent().asReadOnlyByteBuffer();
                if (in.get() != VolumeEntry.SCRUB) {
                    return CompletableFuture.failedFuture(new UnsupportedOperationException(
                            "volume " + store.name() + " has one copy on a lone node: nothing to compare"));
                }
                try {
                    return CompletableFuture.completedFuture(VolumeEntry.scrubStep(store.scrub(in.getLong(),
                            in.getLong(), in.getLong() != 0)));
                } catch (RuntimeException e) {
                    return CompletableFuture.failedFuture(e);
                }
            }

            @Override
            public CompletableFuture<Long> append(Message entry) {
                return CompletableFuture.failedFuture(new UnsupportedOperationException(
                        "volume " + store.name() + " has one copy on a lone node: nothing to compare"));
            }
        };
    }

    private VolumeCheck(Kind kind, String volume, int blockSize, long blockCount, Replicas replicas,
                        long bytesPerSecond) {
        this.kind = kind;
        this.volume = volume;
        this.blockSize = blockSize;
        this.chunks = (blockCount + BlockStore.blocksPerChunk() - 1) / BlockStore.blocksPerChunk();
        this.replicas = replicas;
        this.bytesPerSecond = bytesPerSecond;
    }

    /** Starts the check on a thread of its own; {@link #report()} tells how far it is. */
    public static VolumeCheck start(Kind kind, String volume, int blockSize, long blockCount, Replicas replicas,
                                    long bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("the rate must be above zero");
        }
        VolumeCheck check = new VolumeCheck(kind, volume, blockSize, blockCount, replicas, bytesPerSecond);
        Thread thread = new Thread(check::run, kind.name().toLowerCase() + "-" + volume);
        thread.setDaemon(true);
        thread.start();
        return check;
    }

    public boolean running() {
        return state.equals("running");
    }

    private void run() {
        try {
            if (kind == Kind.SCRUB) {
                scrub();
            } else {
                verify();
            }
            progress = 1;
            state = "done";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        } catch (Exception e) {
            fail(why(e));
        } finally {
            finishedNanos = System.nanoTime();
            log.info("volume {}: {} {}: {}", volume, kind.name().toLowerCase(), state, report());
        }
    }

    private void fail(String message) {
        error = message;
        state = "failed";
    }

    /** The failure behind a future's wrappers, as one line. */
    private static String why(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof ExecutionException || cause instanceof java.util.concurrent.CompletionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getMessage() != null ? cause.getMessage() : cause.toString();
    }

    private List<String> members() {
        return replicas.members();
    }

    private Message ask(String member, Message query) throws Exception {
        return replicas.ask(member, query).get(ASK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private long append(Message entry) throws Exception {
        return replicas.append(entry).get(ASK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Sleeps as long as {@code bytes} more take at the rate, counted from the start. */
    private void pace(long bytes) throws InterruptedException {
        paced += bytes;
        long due = startNanos + (long) (paced * 1e9 / bytesPerSecond);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    // ---------------------------------------------------------------- scrub

    private void scrub() throws Exception {
        List<String> members = members();
        for (int r = 0; r < members.size(); r++) {
            String member = members.get(r);
            long from = 0;
            try {
                while (from >= 0) {
                    BlockStore.ScrubStep step = VolumeEntry.scrubStep(ask(member,
                            VolumeEntry.query(VolumeEntry.SCRUB, from, STEP_BYTES, 0)));
                    blocksChecked += step.blocksChecked();
                    Map<Long, List<BlockStore.BadBlock>> byChunk = new TreeMap<>();
                    for (BlockStore.BadBlock bad : step.bad()) {
                        byChunk.computeIfAbsent(bad.block() / BlockStore.blocksPerChunk(), c -> new ArrayList<>())
                                .add(bad);
                    }
                    for (Map.Entry<Long, List<BlockStore.BadBlock>> chunk : byChunk.entrySet()) {
                        repair(members, member, chunk.getKey(), chunk.getValue());
                    }
                    from = step.nextChunk();
                    progress = (r + (from < 0 ? 1.0 : Math.min(1.0, from / (double) chunks))) / members.size();
                    pace(step.blocksChecked() * blockSize);
                }
            } catch (ExecutionException | TimeoutException e) {
                unreachable.add(member + ": " + why(e));
            }
        }
    }

    /**
     * Repairs {@code bad} blocks of one chunk of {@code member}'s replica: each other replica in
     * turn supplies its copy of the chunk in a REPAIR entry, until the member's scrub of the chunk
     * (a linearizable query, so after it applied the entry) finds them healthy.
     */
    private void repair(List<String> members, String member, long chunk, List<BlockStore.BadBlock> bad)
            throws Exception {
        TreeSet<Long> left = new TreeSet<>();
        bad.forEach(b -> left.add(b.block()));
        Map<Long, String> healedBy = new HashMap<>();
        for (String source : members) {
            if (source.equals(member) || left.isEmpty()) {
                continue;
            }
            try {
                List<BlockStore.ChunkImage> images = VolumeEntry.chunks(ask(source,
                        VolumeEntry.query(VolumeEntry.CHANGED_CHUNKS, -1, chunk, 1)));
                if (images.isEmpty() || images.get(0).chunk() != chunk) {
                    continue; // nothing allocated there: no copy to offer
                }
                append(VolumeEntry.repair(images));
                TreeSet<Long> stillBad = new TreeSet<>();
                VolumeEntry.scrubStep(ask(member, VolumeEntry.query(VolumeEntry.SCRUB, chunk, 1, 1))).bad()
                        .forEach(b -> stillBad.add(b.block()));
                for (long block : left) {
                    if (!stillBad.contains(block)) {
                        healedBy.put(block, source);
                    }
                }
                left.retainAll(stillBad);
            } catch (ExecutionException | TimeoutException e) {
                log.warn("volume {}: replica {} could not help repair chunk {}: {}", volume, source, chunk,
                        why(e));
            }
        }
        for (BlockStore.BadBlock block : bad) {
            Map<String, Object> finding = new LinkedHashMap<>();
            finding.put("replica", member);
            finding.put("block", block.block());
            finding.put("chunkIndex", block.chunkIndex());
            finding.put("repaired", healedBy.containsKey(block.block()));
            finding.put("from", healedBy.get(block.block()));
            findings.add(finding);
            log.warn("volume {}: block {} of replica {} did not match its CRC32C; {}", volume, block.block(), member,
                    healedBy.containsKey(block.block()) ? "repaired from " + healedBy.get(block.block())
                            : "NOT repaired (no healthy copy of the same write)");
        }
    }

    // ---------------------------------------------------------------- verify

    private void verify() throws Exception {
        List<String> members = members();
        for (long from = 0; from < chunks; from += DIGEST_CHUNKS) {
            long to = Math.min(chunks, from + DIGEST_CHUNKS);
            Map<String, Map<Long, BlockStore.ChunkDigest>> digests = digests(members, from, to);
            TreeSet<Long> differing = differing(digests);
            for (long chunk : differing) {
                Map<String, Object> finding = new LinkedHashMap<>();
                finding.put("chunk", chunk);
                finding.put("firstBlock", chunk * BlockStore.blocksPerChunk());
                finding.put("blocks", BlockStore.blocksPerChunk());
                Map<String, Object> replicas = new TreeMap<>();
                for (Map.Entry<String, Map<Long, BlockStore.ChunkDigest>> member : digests.entrySet()) {
                    BlockStore.ChunkDigest d = member.getValue().get(chunk);
                    replicas.put(member.getKey(), d == null ? "absent" : Map.of("lastIndex", d.lastIndex(),
                            "allocatedBlocks", d.allocated(), "mapCrc", Integer.toHexString(d.mapCrc())));
                }
                finding.put("replicas", replicas);
                findings.add(finding);
            }
            long allocated = 0;
            for (Map<Long, BlockStore.ChunkDigest> member : digests.values()) {
                allocated = Math.max(allocated, member.values().stream().mapToLong(BlockStore.ChunkDigest::allocated)
                        .sum());
            }
            blocksChecked += allocated;
            progress = to / (double) chunks;
            pace(allocated * blockSize);
        }
    }

    /**
     * Each reachable member's digests of {@code [from, to)}, as it noted them when it applied one
     * NOTE_DIGESTS entry: the same point of the log everywhere. A member that does not answer is
     * noted and left out.
     */
    private Map<String, Map<Long, BlockStore.ChunkDigest>> digests(List<String> members, long from, long to)
            throws Exception {
        long at = append(VolumeEntry.query(VolumeEntry.NOTE_DIGESTS, from, to));
        Map<String, Map<Long, BlockStore.ChunkDigest>> all = new TreeMap<>();
        for (String member : members) {
            if (unreachable.stream().anyMatch(u -> u.startsWith(member + ":"))) {
                continue;
            }
            try {
                Map<Long, BlockStore.ChunkDigest> mine = new HashMap<>();
                VolumeEntry.digests(ask(member, VolumeEntry.query(VolumeEntry.NOTED_DIGESTS, at)))
                        .forEach(d -> mine.put(d.chunk(), d));
                all.put(member, mine);
            } catch (ExecutionException | TimeoutException e) {
                unreachable.add(member + ": " + why(e));
            }
        }
        return all;
    }

    private static TreeSet<Long> differing(Map<String, Map<Long, BlockStore.ChunkDigest>> digests) {
        TreeSet<Long> chunks = new TreeSet<>();
        digests.values().forEach(d -> chunks.addAll(d.keySet()));
        TreeSet<Long> differing = new TreeSet<>();
        for (long chunk : chunks) {
            if (digests.values().stream().map(d -> d.get(chunk)).distinct().count() > 1) {
                differing.add(chunk);
            }
        }
        return differing;
    }

    // ---------------------------------------------------------------- report

    /** How far the check is and what it found so far, for the admin API. */
    public Map<String, Object> report() {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("volume", volume);
        report.put("kind", kind.name().toLowerCase());
        report.put("state", state);
        report.put("progress", Math.round(progress * 1000) / 1000.0);
        report.put("rateMiBps", bytesPerSecond / (double) (1 << 20));
        report.put("blocksChecked", blocksChecked);
        report.put("bytesChecked", blocksChecked * blockSize);
        long end = finishedNanos != 0 ? finishedNanos : System.nanoTime();
        report.put("seconds", Math.round((end - startNanos) / 1e7) / 100.0);
        List<Map<String, Object>> found;
        synchronized (findings) {
            found = List.copyOf(findings);
        }
        if (kind == Kind.SCRUB) {
            report.put("corruptBlocks", found.size());
            report.put("repairedBlocks", found.stream().filter(f -> Boolean.TRUE.equals(f.get("repaired"))).count());
            report.put("corrupt", found);
        } else {
            report.put("differingChunks", found.size());
            report.put("differences", found);
        }
        synchronized (unreachable) {
            report.put("unreachable", List.copyOf(unreachable));
        }
        report.put("error", error);
        report.values().removeIf(Objects::isNull);
        return report;
    }
}

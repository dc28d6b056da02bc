package io.raftlun.blockstore;

import java.util.concurrent.atomic.LongAdder;

/** What a block store has done, for metrics: cheap to count on every I/O. */
public final class StoreCounters {

    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder syncs = new LongAdder();
    private final LongAdder corruptBlocks = new LongAdder();
    private final LongAdder repairedBlocks = new LongAdder();

    void read(long bytes) {
        bytesRead.add(bytes);
    }

    void written(long bytes) {
        bytesWritten.add(bytes);
    }

    void synced() {
        syncs.increment();
    }

    void corruptBlock() {
        corruptBlocks.increment();
    }

    void repaired(long blocks) {
        repairedBlocks.add(blocks);
    }

    /** Corrupt blocks rewritten from a healthy replica's copy. */
    public long repairedBlocks() {
        return repairedBlocks.sum();
    }

    public long bytesRead() {
        return bytesRead.sum();
    }

    public long bytesWritten() {
        return bytesWritten.sum();
    }

    public long syncs() {
        return syncs.sum();
    }

    /** Blocks whose data did not match the CRC32C in the block map when read. */
    public long corruptBlocks() {
        return corruptBlocks.sum();
    }
}

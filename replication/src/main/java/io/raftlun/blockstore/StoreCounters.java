package io.raftlun.blockstore;

import java.util.concurrent.atomic.LongAdder;

/** What a block store has done, for metrics: cheap to count on every I/O. */
public final class StoreCounters {

    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder syncs = new LongAdder();
    private final LongAdder corruptBlocks = new LongAdder();
    private final LongAdder repairedBlocks = new LongAdder();
    private final LongAdder scrubChecked = new LongAdder();
    private final LongAdder scrubFound = new LongAdder();
    private final LongAdder scrubRepaired = new LongAdder();

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

    void scrubbed(long checked, long corrupt) {
        scrubChecked.add(checked);
        scrubFound.add(corrupt);
    }

    void scrubRepaired(long blocks) {
        scrubRepaired.add(blocks);
    }

    /** Blocks a scrub read here and checked against their CRC32C. */
    public long scrubChecked() {
        return scrubChecked.sum();
    }

    /** Blocks a scrub found here not matching their CRC32C. */
    public long scrubFound() {
        return scrubFound.sum();
    }

    /** Blocks a scrub's repair entry rewrote here from a healthy replica's copy. */
    public long scrubRepaired() {
        return scrubRepaired.sum();
    }

    /** Corrupt blocks rewritten from a healthy replica's copy (on read or by a scrub). */
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

package io.raftlun.blockstore;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * One volume's blocks on one node: block data in a data file (sparse) or a local device, and the
 * volume's part of the node's block map (allocation, CRC32C per block, last log index per chunk).
 *
 * <p>Every change carries the log index of the command that made it (0 for a volume without a log).
 * Changes are applied in index order, and a change whose index is not above a chunk's last index is
 * skipped for that chunk, so replaying a log after a crash is harmless. The caller records which
 * index it applied up to, after a {@link #sync()}. Synchronous and blocking: callers run it off the
 * event loops. Thread-safe: each chunk is guarded by one of a set of striped locks.
 */
public final class BlockStore implements AutoCloseable {

    private static final int LOCK_STRIPES = 64;
    /** The largest request {@link #runsInline}: one chunk of 512-byte blocks. */
    private static final int INLINE_MAX_BYTES = 128 << 10;
    private static final String DURABLE_PREFIX = "durable-index/";
    private static final String STATE_PREFIX = "durable-state/";
    private static final String APPLIED_PREFIX = "applied-index/";

    private volatile VolumeRecord record; // replaced only by grow
    private final BlockMap map;
    private final Executor mapSyncer;
    private final FileChannel data;
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    private final StoreCounters counters;
    private final ChunkCache cache;

    BlockStore(VolumeRecord record, BlockMap map, Executor mapSyncer, FileChannel data, StoreCounters counters) {
        this.record = record;
        this.map = map;
        this.mapSyncer = mapSyncer;
        this.data = data;
        this.counters = counters;
        this.cache = new ChunkCache((record.blockCount() + ChunkEntry.BLOCKS - 1) / ChunkEntry.BLOCKS);
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    public String name() {
        return record.name();
    }

    public int blockSize() {
        return record.blockSize();
    }

    public long blockCount() {
        return record.blockCount();
    }

    VolumeRecord record() {
        return record;
    }

    /**
     * Grows the volume to {@code blockCount} blocks: a data file is extended (sparse), a device
     * must already be large enough. The new blocks read as zeros (unallocated). Idempotent: a
     * count not above the current one changes nothing, so replaying the log entry is harmless.
     */
    public synchronized void grow(long blockCount) {
        VolumeRecord current = record;
        if (blockCount <= current.blockCount()) {
            return;
        }
        VolumeRecord grown = new VolumeRecord(current.id(), current.name(), blockCount, current.blockSize(),
                current.dataPath(), current.dataOffset(), current.device());
        long needed = grown.dataOffset() + grown.sizeBytes();
        try {
            long available = Devices.size(Path.of(grown.dataPath()), data);
            if (current.device() && available < needed) {
                throw new StorageException("backing store " + grown.dataPath() + " holds " + available
                        + " bytes, less than the " + needed + " the grown volume needs");
            }
            if (!current.device() && available < needed) {
                data.write(ByteBuffer.allocate(1), needed - 1); // sparse: costs nothing until written
            }
        } catch (IOException e) {
            throw new StorageException("volume " + current.name() + ": growing " + current.dataPath() + " failed: "
                    + e.getMessage(), e);
        }
        map.putValue(NodeStorage.VOLUME_PREFIX + current.name(), grown.encode());
        map.sync();
        record = grown;
    }

    private ReentrantLock lockFor(long chunk) {
        return locks[(int) Long.remainderUnsigned(chunk, LOCK_STRIPES)];
    }

    /** The chunk's block map entry (null: none); not to be changed, see {@link ChunkCache}. */
    private ChunkEntry entry(long chunk) {
        ChunkCache.Slot cached = cache.lookup(chunk);
        if (cached != null) {
            return cached.entry();
        }
        ReentrantLock lock = lockFor(chunk);
        lock.lock();
        try {
            return lockedEntry(chunk);
        } finally {
            lock.unlock();
        }
    }

    /**
     * True for a small read or overwrite of a {@link #hot} range: it takes microseconds, so a
     * caller may run it on its own thread, an event loop even, rather than hand it to an I/O
     * thread and wait for that thread to wake up and answer (which costs more than the I/O).
     */
    public boolean runsInline(long lba, long blocks) {
        return blocks * record.blockSize() <= INLINE_MAX_BYTES && hot(lba, blocks);
    }

    /**
     * True if the block map entry of every chunk of the range is cached: the range was read or
     * written lately, so its data is almost surely in the page cache too, and reading it or
     * overwriting it will not wait for a disk.
     */
    public boolean hot(long lba, long blocks) {
        if (blocks <= 0 || lba < 0) {
            return false;
        }
        for (long chunk = lba / ChunkEntry.BLOCKS; chunk <= (lba + blocks - 1) / ChunkEntry.BLOCKS; chunk++) {
            if (cache.lookup(chunk) == null) {
                return false;
            }
        }
        return true;
    }

    /** As {@link #entry}, for a caller holding the chunk's lock. */
    private ChunkEntry lockedEntry(long chunk) {
        ChunkCache.Slot cached = cache.lookup(chunk);
        if (cached != null) {
            return cached.entry();
        }
        ChunkEntry entry = map.chunk(record.id(), chunk);
        cache.put(chunk, entry);
        return entry;
    }

    /** Writes the chunk's new entry to the block map, with the chunk locked, and caches it. */
    private void commit(long chunk, ChunkEntry entry) {
        boolean committed = false;
        try {
            boolean kept = map.putChunk(record.id(), chunk, entry); // one call: a write batch took four
            cache.put(chunk, kept ? entry : null);
            committed = true;
        } finally {
            if (!committed) {
                cache.forget(chunk);
            }
        }
    }

    private void checkRange(long lba, long blocks) {
        VolumeException.requireInRange(record.name(), record.blockCount(), lba, blocks);
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads {@code blocks} blocks at {@code lba}. Unallocated blocks read as zeros; every allocated
     * block is checked against its CRC32C and a mismatch is a {@link VolumeException.Kind#MEDIUM_ERROR}.
     * The caller owns the returned buffer.
     */
    public ByteBuf read(long lba, int blocks) {
        checkRange(lba, blocks);
        int blockSize = record.blockSize();
        ByteBuf out = PooledByteBufAllocator.DEFAULT.directBuffer(blocks * blockSize);
        try {
            out.writerIndex(blocks * blockSize);
            readFile(out, 0, lba, blocks);
            long block = lba;
            long end = lba + blocks;
            while (block < end) {
                long chunk = block / ChunkEntry.BLOCKS;
                long chunkEnd = Math.min(end, (chunk + 1) * ChunkEntry.BLOCKS);
                if (!checkChunk(out, lba, block, chunkEnd, entry(chunk))) {
                    // A write may have landed between reading the data and reading the map: look
                    // again with the chunk locked before calling it corruption.
                    ReentrantLock lock = lockFor(chunk);
                    lock.lock();
                    try {
                        readFile(out, (int) (block - lba) * blockSize, block, (int) (chunkEnd - block));
                        if (!checkChunk(out, lba, block, chunkEnd, lockedEntry(chunk))) {
                            counters.corruptBlock();
                            throw new VolumeException(VolumeException.Kind.MEDIUM_ERROR, "volume " + record.name()
                                    + ": a block in " + block + ".." + (chunkEnd - 1)
                                    + " does not match its checksum");
                        }
                    } finally {
                        lock.unlock();
                    }
                }
                block = chunkEnd;
            }
            counters.read(blocks * (long) blockSize);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** Zeros unallocated blocks of {@code [from, to)} in {@code out} and verifies the others. */
    private boolean checkChunk(ByteBuf out, long outLba, long from, long to, ChunkEntry entry) {
        int blockSize = record.blockSize();
        CRC32C crc = new CRC32C();
        for (long block = from; block < to; block++) {
            int offset = (int) (block - outLba) * blockSize;
            int inChunk = (int) (block % ChunkEntry.BLOCKS);
            if (entry == null || !entry.isAllocated(inChunk)) {
                out.setZero(offset, blockSize);
                continue;
            }
            if (crcOf(crc, out, offset, blockSize) != entry.crc(inChunk)) {
                return false;
            }
        }
        return true;
    }

    /** The CRC32C of one block of {@code buf} at {@code offset}, as the block map records it. */
    private static int crcOf(CRC32C crc, ByteBuf buf, int offset, int blockSize) {
        crc.reset();
        crc.update(buf.nioBuffer(offset, blockSize));
        return (int) crc.getValue();
    }

    /**
     * The CRC32C of each block of {@code blocks}' readable bytes, in one pass over its memory. A
     * written range usually arrives as a composite of the connection's receive buffers: asking it
     * for each block's bytes would look the block's components up, and copy a block that straddles
     * two, for every block.
     */
    static int[] crcsOf(ByteBuf blocks, int blockSize) {
        int[] crcs = new int[blocks.readableBytes() / blockSize];
        CRC32C crc = new CRC32C();
        int block = 0;
        int filled = 0;
        for (ByteBuffer part : blocks.nioBuffers()) {
            while (part.hasRemaining() && block < crcs.length) {
                int limit = part.limit();
                part.limit(part.position() + Math.min(part.remaining(), blockSize - filled));
                filled += part.remaining();
                crc.update(part);
                part.limit(limit);
                if (filled == blockSize) {
                    crcs[block++] = (int) crc.getValue();
                    crc.reset();
                    filled = 0;
                }
            }
        }
        return crcs;
    }

    private void readFile(ByteBuf out, int outOffset, long lba, int blocks) {
        int blockSize = record.blockSize();
        ByteBuffer target = out.nioBuffer(outOffset, blocks * blockSize);
        long position = record.dataOffset() + lba * blockSize;
        try {
            while (target.hasRemaining()) {
                int n = data.read(target, position);
                if (n < 0) {
                    while (target.hasRemaining()) {
                        target.put((byte) 0); // past the end of a sparse file: zeros
                    }
                    break;
                }
                position += n;
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Kind.MEDIUM_ERROR, "volume " + record.name() + ": reading "
                    + record.dataPath() + " failed: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- writes

    /** Writes whole blocks at {@code lba}. Does not release {@code buffer}. */
    public void write(long index, long lba, ByteBuf buffer) {
        int blockSize = record.blockSize();
        int blocks = buffer.readableBytes() / blockSize;
        checkRange(lba, blocks);
        forEachChunk(lba, buffer, (part, chunk) -> updateChunk(index, chunk, part.lba(),
                part.lba() + part.data().readableBytes() / blockSize, part.data(), false));
        counters.written(blocks * (long) blockSize);
    }

    /** Hands {@code each} the part of a write of whole blocks at {@code lba} in each chunk it spans, with the chunk. */
    private void forEachChunk(long lba, ByteBuf data, java.util.function.ObjLongConsumer<BlockWrite> each) {
        int blockSize = record.blockSize();
        long block = lba;
        long end = lba + data.readableBytes() / blockSize;
        while (block < end) {
            long chunk = block / ChunkEntry.BLOCKS;
            long chunkEnd = Math.min(end, (chunk + 1) * ChunkEntry.BLOCKS);
            int offset = data.readerIndex() + (int) (block - lba) * blockSize;
            each.accept(new BlockWrite(block, data.slice(offset, (int) (chunkEnd - block) * blockSize)), chunk);
            block = chunkEnd;
        }
    }

    /** One write of whole blocks at {@code lba}, as an entry of several writes carries it. */
    public record BlockWrite(long lba, ByteBuf data) {
    }

    /**
     * Applies several writes made at one index, in their order. Each chunk they touch is changed
     * once, under its lock, with one block map commit for all of them: a replay finds it wholly
     * applied (skipped) or not at all. Releases none of the buffers.
     */
    public void write(long index, List<BlockWrite> writes) {
        int blockSize = record.blockSize();
        TreeMap<Long, List<BlockWrite>> byChunk = new TreeMap<>();
        for (BlockWrite write : writes) {
            checkRange(write.lba(), write.data().readableBytes() / blockSize);
            forEachChunk(write.lba(), write.data(),
                    (part, chunk) -> byChunk.computeIfAbsent(chunk, c -> new ArrayList<>()).add(part));
        }
        long[] bytes = {0};
        for (var chunk : byChunk.entrySet()) {
            changeChunk(index, chunk.getKey(), true, (current, entry) -> {
                for (BlockWrite part : chunk.getValue()) {
                    storeBlocks(entry, part.lba(), part.data());
                    bytes[0] += part.data().readableBytes();
                }
                return true;
            });
        }
        counters.written(bytes[0]);
    }

    /** Writes one block of {@code pattern} to each block of the range, or deallocates it. */
    public void writeSame(long index, long lba, long blocks, ByteBuf pattern, boolean deallocate) {
        checkRange(lba, blocks);
        int blockSize = record.blockSize();
        ByteBuf chunkOfPattern = null;
        try {
            if (!deallocate) {
                chunkOfPattern = PooledByteBufAllocator.DEFAULT.directBuffer(ChunkEntry.BLOCKS * blockSize);
                for (int i = 0; i < ChunkEntry.BLOCKS; i++) {
                    chunkOfPattern.writeBytes(pattern, pattern.readerIndex(), blockSize);
                }
            }
            long block = lba;
            long end = lba + blocks;
            while (block < end) {
                long chunk = block / ChunkEntry.BLOCKS;
                long chunkEnd = Math.min(end, (chunk + 1) * ChunkEntry.BLOCKS);
                ByteBuf slice = deallocate ? null : chunkOfPattern.slice(0, (int) (chunkEnd - block) * blockSize);
                updateChunk(index, chunk, block, chunkEnd, slice, deallocate);
                block = chunkEnd;
            }
        } finally {
            if (chunkOfPattern != null) {
                chunkOfPattern.release();
            }
        }
    }

    /** Deallocates the extents: they read as zeros afterwards. */
    public void unmap(long index, List<Extent> extents) {
        for (Extent extent : extents) {
            checkRange(extent.lba(), extent.blocks());
        }
        // Several extents may fall in one chunk: which chunks this entry already changed (a replay)
        // is decided once, before the first extent changes their index.
        Set<Long> applied = new HashSet<>();
        if (index > 0) {
            for (Extent extent : extents) {
                for (long c = extent.lba() / ChunkEntry.BLOCKS; c * ChunkEntry.BLOCKS < extent.end(); c++) {
                    ChunkEntry entry = entry(c);
                    if (entry != null && entry.lastIndex() >= index) {
                        applied.add(c);
                    }
                }
            }
        }
        for (Extent extent : extents) {
            long block = extent.lba();
            while (block < extent.end()) {
                long chunk = block / ChunkEntry.BLOCKS;
                long chunkEnd = Math.min(extent.end(), (chunk + 1) * ChunkEntry.BLOCKS);
                if (!applied.contains(chunk)) {
                    updateChunk(index, chunk, block, chunkEnd, null, true, false);
                }
                block = chunkEnd;
            }
        }
    }

    /**
     * Compares the blocks at {@code lba} with {@code compare} and, only if they are equal, writes
     * {@code write} there, atomically with respect to every other change. Returns -1 when written,
     * otherwise the offset of the first differing byte. Releases neither buffer.
     */
    public long compareAndWrite(long index, long lba, ByteBuf compare, ByteBuf write) {
        int blockSize = record.blockSize();
        int blocks = compare.readableBytes() / blockSize;
        checkRange(lba, blocks);
        long firstChunk = lba / ChunkEntry.BLOCKS;
        long lastChunk = (lba + Math.max(1, blocks) - 1) / ChunkEntry.BLOCKS;
        List<ReentrantLock> held = lockChunks(firstChunk, lastChunk);
        try {
            if (appliedBefore(index, firstChunk, lastChunk)) {
                // A replay of a compare that succeeded (it wrote, the map says so): finish the write
                // on any chunk a crash left behind rather than compare against its own result.
                write(index, lba, write);
                return -1;
            }
            ByteBuf current = read(lba, blocks);
            try {
                for (int i = 0; i < compare.readableBytes(); i++) {
                    if (current.getByte(i) != compare.getByte(compare.readerIndex() + i)) {
                                        return i;
                    }
                }
            } finally {
                current.release();
            }
            write(index, lba, write);
            return -1;
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).unlock();
            }
        }
    }

    private boolean appliedBefore(long index, long firstChunk, long lastChunk) {
        if (index <= 0) {
            return false;
        }
        for (long c = firstChunk; c <= lastChunk; c++) {
            ChunkEntry entry = lockedEntry(c);
            if (entry != null && entry.lastIndex() >= index) {
                return true;
            }
        }
        return false;
    }

    /** Locks the stripes of a chunk range in stripe order (so two callers never deadlock). */
    private List<ReentrantLock> lockChunks(long firstChunk, long lastChunk) {
        boolean[] stripes = new boolean[LOCK_STRIPES];
        for (long c = firstChunk; c <= lastChunk && c < firstChunk + LOCK_STRIPES; c++) {
            stripes[(int) Long.remainderUnsigned(c, LOCK_STRIPES)] = true;
        }
        List<ReentrantLock> held = new ArrayList<>();
        for (int s = 0; s < LOCK_STRIPES; s++) {
            if (stripes[s]) {
                locks[s].lock();
                held.add(locks[s]);
            }
        }
        return held;
    }

    /**
     * Applies one change to the blocks {@code [from, to)} of one chunk: writes {@code blocks} (the
     * range's data) or deallocates, then records CRCs, allocation and the index in the block map.
     * Data reaches the file before the map, so a map entry never vouches for data not yet written.
     */
    private void updateChunk(long index, long chunk, long from, long to, ByteBuf blocks, boolean deallocate) {
        updateChunk(index, chunk, from, to, blocks, deallocate, true);
    }

    /** As above; {@code skipApplied} false when the caller already decided this entry is new to the chunk. */
    private void updateChunk(long index, long chunk, long from, long to, ByteBuf blocks, boolean deallocate,
                             boolean skipApplied) {
        changeChunk(index, chunk, skipApplied, (current, entry) -> {
            if (current == null && deallocate && index == 0) {
                return false; // nothing allocated, nothing to do, no index to remember
            }
            if (!deallocate) {
                storeBlocks(entry, from, blocks);
            } else {
                for (long block = from; block < to; block++) {
                    entry.deallocate((int) (block % ChunkEntry.BLOCKS));
                }
            }
            return true;
        });
    }

    /** A change to one chunk: made to {@code entry} (a copy of {@code current}, or new); false if there was none. */
    @FunctionalInterface
    private interface ChunkChange {
        boolean apply(ChunkEntry current, ChunkEntry entry);
    }

    /**
     * Makes one change to a chunk with the chunk locked: skips it if the chunk already holds this
     * index or a later one ({@code skipApplied}: a replay after a crash), else applies it to a copy
     * of the chunk's entry, records the index and commits the entry.
     */
    private void changeChunk(long index, long chunk, boolean skipApplied, ChunkChange change) {
        ReentrantLock lock = lockFor(chunk);
        lock.lock();
        try {
            ChunkEntry current = lockedEntry(chunk);
            if (skipApplied && current != null && index > 0 && current.lastIndex() >= index) {
                return; // already applied: a replay after a crash
            }
            ChunkEntry entry = current == null ? new ChunkEntry() : current.copy();
            if (change.apply(current, entry)) {
                entry.lastIndex(Math.max(entry.lastIndex(), index));
                commit(chunk, entry);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Writes {@code blocks} at {@code from} to the data file and notes them allocated, with their CRCs, in {@code entry}. */
    private void storeBlocks(ChunkEntry entry, long from, ByteBuf blocks) {
        writeFile(blocks, from);
        int[] crcs = crcsOf(blocks, record.blockSize());
        for (int i = 0; i < crcs.length; i++) {
            entry.allocate((int) ((from + i) % ChunkEntry.BLOCKS), crcs[i]);
        }
    }

    private void writeFile(ByteBuf blocks, long lba) {
        long position = record.dataOffset() + lba * record.blockSize();
        try {
            for (ByteBuffer source : blocks.nioBuffers()) {
                while (source.hasRemaining()) {
                    position += data.write(source, position);
                }
            }
        } catch (IOException e) {
            throw new StorageException("volume " + record.name() + ": writing " + record.dataPath() + " failed: "
                    + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- durability and status

    /**
     * Makes every change so far durable: the data file and the block map that vouches for it, both
     * fsynced at once (the map on {@code mapSyncer}), so a SYNCHRONIZE CACHE waits for about one
     * fsync rather than two. Syncing them in turn would order nothing: before a sync, the kernel
     * writes either back to disk whenever it likes.
     */
    public void sync() {
        try {
            syncAsync(Runnable::run).join(); // the data file's fsync here, the map's on its syncer
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    /**
     * {@link #sync}, started from the caller's thread without waiting: the data file is fsynced on
     * {@code io} and the map on {@code mapSyncer}, and the result completes once both are done, on
     * the thread that finished last. A caller on an event loop so waits for two thread wake-ups
     * (the fsyncs') instead of four (a pool thread's, which then wakes the map's syncer and waits
     * to be woken by it): about 60 µs each here, a tenth of a SYNCHRONIZE CACHE.
     */
    public CompletableFuture<Void> syncAsync(Executor io) {
        CompletableFuture<Void> mapSynced;
        try {
            mapSynced = CompletableFuture.runAsync(map::sync, mapSyncer);
        } catch (RejectedExecutionException e) { // the node is closing its storage
            mapSynced = onPool(map::sync, io);
        }
        CompletableFuture<Void> dataSynced = onPool(this::forceData, io);
        // Answers only once both are done, failed or not: a failure of one waits for the other.
        return dataSynced.handle((ignored, dataFailure) -> dataFailure)
                .thenCombine(mapSynced.handle((ignored, mapFailure) -> mapFailure), (dataFailure, mapFailure) -> {
                    if (dataFailure == null && mapFailure == null) {
                        counters.synced();
                        return null;
                    }
                    Throwable failure = unwrap(dataFailure != null ? dataFailure : mapFailure);
                    if (dataFailure != null && mapFailure != null) {
                        failure.addSuppressed(unwrap(mapFailure));
                    }
                    throw new CompletionException(failure);
                });
    }

    private static CompletableFuture<Void> onPool(Runnable action, Executor pool) {
        try {
            return CompletableFuture.runAsync(action, pool);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private void forceData() {
        try {
            data.force(false);
        } catch (IOException e) {
            throw new StorageException("volume " + record.name() + ": fsync of " + record.dataPath() + " failed: "
                    + e.getMessage(), e);
        }
    }

    /** Provisioning status from {@code lba} on: at most {@code maxExtents} runs of equal state. */
    public List<LbaStatus> lbaStatus(long lba, int maxExtents) {
        checkRange(lba, 1);
        Runs runs = new Runs(maxExtents);
        long end = record.blockCount();
        long[] next = {lba}; // first block not yet classified
        map.chunks(record.id(), lba / ChunkEntry.BLOCKS, (chunk, entry) -> {
            long chunkStart = Math.max(next[0], chunk * ChunkEntry.BLOCKS);
            if (chunkStart >= end) {
                return false;
            }
            runs.add(next[0], chunkStart, false); // the unallocated chunks before this one
            long chunkEnd = Math.min(end, (chunk + 1) * ChunkEntry.BLOCKS);
            for (long block = chunkStart; block < chunkEnd && !runs.full(); block++) {
                runs.add(block, block + 1, entry.isAllocated((int) (block % ChunkEntry.BLOCKS)));
            }
            next[0] = chunkEnd;
            return !runs.full();
        });
        runs.add(next[0], end, false);
        return runs.finish();
    }

    /** Consecutive blocks of equal provisioning state, merged into LBA status descriptors. */
    private static final class Runs {
        private final int max;
        private final List<LbaStatus> closed = new ArrayList<>();
        private long start = -1;
        private long end;
        private boolean mapped;

        Runs(int max) {
            this.max = max;
        }

        void add(long from, long to, boolean blocksMapped) {
            if (from >= to || full()) {
                return;
            }
            if (start >= 0 && blocksMapped != mapped) {
                closed.add(new LbaStatus(start, end - start, mapped));
                start = -1;
                if (full()) {
                    return;
                }
            }
            if (start < 0) {
                start = from;
                mapped = blocksMapped;
            }
            end = to;
        }

        boolean full() {
            return closed.size() >= max;
        }

        List<LbaStatus> finish() {
            if (start >= 0 && !full()) {
                closed.add(new LbaStatus(start, end - start, mapped));
            }
            return closed;
        }
    }

    // ---------------------------------------------------------------- repair and scrub

    /**
     * Rewrites the blocks of {@code [lba, lba + blocks)} whose data here no longer matches the
     * block map, with {@code healthy} (another replica's copy of the same blocks, read after this
     * replica's read barrier), but only where that copy matches the CRC32C this replica's map
     * vouches for: the map says what the block must hold, the other replica only supplies bytes.
     * Returns how many blocks were rewritten; blocks still corrupt afterwards stay a MEDIUM ERROR.
     */
    public int repair(long lba, int blocks, ByteBuf healthy) {
        checkRange(lba, blocks);
        int blockSize = record.blockSize();
        int repaired = 0;
        ByteBuf current = PooledByteBufAllocator.DEFAULT.directBuffer(blockSize);
        try {
            for (long block = lba; block < lba + blocks; block++) {
                long chunk = block / ChunkEntry.BLOCKS;
                ReentrantLock lock = lockFor(chunk);
                lock.lock();
                try {
                    ChunkEntry entry = lockedEntry(chunk);
                    int offset = healthy.readerIndex() + (int) (block - lba) * blockSize;
                    if (entry != null && heal(entry, block, current, healthy.slice(offset, blockSize))) {
                        repaired++;
                    }
                } finally {
                    lock.unlock();
                }
            }
        } finally {
            current.release();
        }
        counters.repaired(repaired);
        return repaired;
    }

    /**
     * Scrub's repair, applied from the volume's log on every replica: rewrites the blocks of the
     * chunk that are corrupt here with {@code healthy}'s copy, but only if the healthy replica's
     * chunk carries the same last log index as this one (so the copy is of the same write, not an
     * older or newer one) and the copy matches the CRC32C this replica's map vouches for. Replicas
     * whose blocks are fine change nothing. Returns how many blocks were rewritten here.
     */
    public int repair(ChunkImage healthy) {
        ChunkEntry source = ChunkEntry.decode(healthy.entry());
        int blockSize = record.blockSize();
        int repaired = 0;
        ByteBuf current = PooledByteBufAllocator.DEFAULT.directBuffer(blockSize);
        ReentrantLock lock = lockFor(healthy.chunk());
        lock.lock();
        try {
            ChunkEntry entry = lockedEntry(healthy.chunk());
            if (entry == null || entry.lastIndex() != source.lastIndex()) {
                return 0;
            }
            ByteBuf data = Unpooled.wrappedBuffer(healthy.data());
            long first = healthy.chunk() * ChunkEntry.BLOCKS;
            for (int i = 0; i < ChunkEntry.BLOCKS && (i + 1) * blockSize <= healthy.data().length; i++) {
                if (source.isAllocated(i) && heal(entry, first + i, current, data.slice(i * blockSize, blockSize))) {
                    repaired++;
                }
            }
        } finally {
            lock.unlock();
            current.release();
        }
        counters.repaired(repaired);
        counters.scrubRepaired(repaired);
        return repaired;
    }

    /**
     * With the block's chunk locked: if the block here does not match {@code entry}'s CRC32C and
     * {@code copy} does, writes the copy. True if it did.
     */
    private boolean heal(ChunkEntry entry, long block, ByteBuf current, ByteBuf copy) {
        int blockSize = record.blockSize();
        int inChunk = (int) (block % ChunkEntry.BLOCKS);
        if (!entry.isAllocated(inChunk)) {
            return false;
        }
        CRC32C crc = new CRC32C();
        current.clear().writerIndex(blockSize);
        readFile(current, 0, block, 1);
        if (crcOf(crc, current, 0, blockSize) == entry.crc(inChunk)
                || crcOf(crc, copy, copy.readerIndex(), blockSize) != entry.crc(inChunk)) {
            return false; // healthy here, or the other copy is no better
        }
        writeFile(copy, block);
        return true;
    }

    /** A block that does not match its CRC32C, with the last log index of its chunk. */
    public record BadBlock(long block, long chunkIndex) {
    }

    /**
     * What one step of a scrub found: blocks checked, the corrupt ones, and the chunk to go on
     * from (-1 when the volume is done).
     */
    public record ScrubStep(long nextChunk, long blocksChecked, List<BadBlock> bad) {
    }

    /**
     * Reads every allocated block of the chunks from {@code fromChunk} on, about {@code maxBytes}
     * of them, and checks each against its CRC32C, each chunk under its lock so a write landing
     * meanwhile is never mistaken for corruption. A {@code recheck} (of a chunk just repaired) is
     * left out of the scrub counters, so a block is counted corrupt once.
     */
    public ScrubStep scrub(long fromChunk, long maxBytes, boolean recheck) {
        List<Long> chunks = new ArrayList<>();
        long[] budget = {maxBytes};
        map.chunks(record.id(), fromChunk, (chunk, entry) -> {
            if (budget[0] <= 0) {
                return false;
            }
            chunks.add(chunk);
            budget[0] -= (long) entry.allocatedCount() * record.blockSize();
            return true;
        });
        int blockSize = record.blockSize();
        long checked = 0;
        List<BadBlock> bad = new ArrayList<>();
        ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(ChunkEntry.BLOCKS * blockSize);
        try {
            CRC32C crc = new CRC32C();
            for (long chunk : chunks) {
                ReentrantLock lock = lockFor(chunk);
                lock.lock();
                try {
                    ChunkEntry entry = lockedEntry(chunk);
                    if (entry == null || entry.empty()) {
                        continue;
                    }
                    long first = chunk * ChunkEntry.BLOCKS;
                    int blocks = (int) Math.min(ChunkEntry.BLOCKS, record.blockCount() - first);
                    buffer.clear().writerIndex(blocks * blockSize);
                    readFile(buffer, 0, first, blocks);
                    for (int i = 0; i < blocks; i++) {
                        if (entry.isAllocated(i)) {
                            checked++;
                            if (crcOf(crc, buffer, i * blockSize, blockSize) != entry.crc(i)) {
                                bad.add(new BadBlock(first + i, entry.lastIndex()));
                            }
                        }
                    }
                } finally {
                    lock.unlock();
                }
            }
        } finally {
            buffer.release();
        }
        if (!recheck) {
            counters.scrubbed(checked, bad.size());
        }
        boolean done = chunks.isEmpty() || budget[0] > 0;
        return new ScrubStep(done ? -1 : chunks.get(chunks.size() - 1) + 1, checked, bad);
    }

    /**
     * What a replica's block map says about one chunk, in 20 bytes: its last log index, how many
     * blocks are allocated, and a CRC32C over which ones and their CRCs. Replicas that applied the
     * same log agree on it, so comparing digests compares replicas without shipping data.
     */
    public record ChunkDigest(long chunk, long lastIndex, int allocated, int mapCrc) {
    }

    /** The digests of the chunks in {@code [fromChunk, toChunk)} that the block map holds. */
    public List<ChunkDigest> digests(long fromChunk, long toChunk) {
        List<ChunkDigest> digests = new ArrayList<>();
        map.chunks(record.id(), fromChunk, (chunk, entry) -> {
            if (chunk >= toChunk) {
                return false;
            }
            byte[] encoded = entry.encode();
            CRC32C crc = new CRC32C();
            crc.update(encoded, 9, encoded.length - 9); // past the format byte and the index
            digests.add(new ChunkDigest(chunk, entry.lastIndex(), entry.allocatedCount(), (int) crc.getValue()));
            return true;
        });
        return digests;
    }

    /** Blocks per block-map chunk: scrub and verify work chunk by chunk. */
    public static int blocksPerChunk() {
        return ChunkEntry.BLOCKS;
    }

    // ---------------------------------------------------------------- replica catch-up

    /** What the last {@link #checkpoint} recorded alongside its index (the volume's other state), or null. */
    public byte[] durableState() {
        return map.value(STATE_PREFIX + record.id());
    }

    /** The highest log index applied to this store that a {@link #sync()} made durable, with its term. */
    public long[] durableIndex() {
        byte[] value = map.value(DURABLE_PREFIX + record.id());
        if (value == null) {
            return new long[] {0, -1};
        }
        ByteBuffer in = ByteBuffer.wrap(value);
        return new long[] {in.getLong(), in.getLong()};
    }

    /**
     * Records, without a sync, that every log entry up to {@code index} is applied here: the
     * record outlives a crash of the process, like the changes it vouches for (in the page cache
     * and the block map's write-ahead log), so a replica that comes back knows what it holds
     * beyond its last checkpoint.
     */
    public void noteApplied(long index) {
        map.putValue(APPLIED_PREFIX + record.id(), ByteBuffer.allocate(8).putLong(index).array());
    }

    /**
     * The highest log index this store applied every entry up to: as {@link #noteApplied} recorded
     * it, or the last checkpoint's if that is higher (a catch-up's chunks land without notes).
     */
    public long appliedIndex() {
        byte[] noted = map.value(APPLIED_PREFIX + record.id());
        return Math.max(durableIndex()[1], noted == null ? -1 : ByteBuffer.wrap(noted).getLong());
    }

    /**
     * Syncs the store, then records, together, that everything up to {@code index} (of {@code term})
     * is durable and the volume's other state at that index ({@code state}, e.g. its reservations):
     * the Raft log up to there may be purged.
     */
    public void checkpoint(long term, long index, byte[] state) {
        sync();
        MapChange change = new MapChange();
        BlockMap.stageValue(change, DURABLE_PREFIX + record.id(),
                ByteBuffer.allocate(16).putLong(term).putLong(index).array());
        BlockMap.stageValue(change, STATE_PREFIX + record.id(), state);
        map.write(change);
        map.sync();
    }

    /** One chunk as a replica ships it: its map entry and its data (empty when nothing is allocated). */
    public record ChunkImage(long chunk, byte[] entry, byte[] data) {
    }

    /**
     * Chunks from {@code fromChunk} on whose last index is above {@code afterIndex}, each read whole
     * under its lock, until about {@code maxBytes} of data are gathered. Returns them in order; the
     * caller continues after the last one, and is done when fewer came back than could have.
     */
    public List<ChunkImage> changedChunks(long afterIndex, long fromChunk, int maxBytes) {
        List<Long> changed = new ArrayList<>();
        long[] budget = {maxBytes};
        int chunkBytes = ChunkEntry.BLOCKS * record.blockSize();
        map.chunks(record.id(), fromChunk, (chunk, entry) -> {
            if (entry.lastIndex() > afterIndex) {
                changed.add(chunk);
                budget[0] -= entry.empty() ? 64 : chunkBytes;
            }
            return budget[0] > 0;
        });
        List<ChunkImage> images = new ArrayList<>(changed.size());
        for (long chunk : changed) {
            ReentrantLock lock = lockFor(chunk);
            lock.lock();
            try {
                ChunkEntry entry = lockedEntry(chunk);
                if (entry == null) {
                    continue; // cannot happen for a replicated volume: its chunks are never deleted
                }
                byte[] bytes = new byte[0];
                if (!entry.empty()) {
                    long first = chunk * ChunkEntry.BLOCKS;
                    int blocks = (int) Math.min(ChunkEntry.BLOCKS, record.blockCount() - first);
                    ByteBuf buffer = Unpooled.wrappedBuffer(new byte[blocks * record.blockSize()]);
                    readFile(buffer, 0, first, blocks);
                    bytes = buffer.array();
                }
                images.add(new ChunkImage(chunk, entry.encode(), bytes));
            } finally {
                lock.unlock();
            }
        }
        return images;
    }

    /** The chunk data {@link #changedChunks} would ship for {@code afterIndex}, from the block map alone. */
    public long changedBytes(long afterIndex) {
        long[] total = {0};
        map.chunks(record.id(), 0, (chunk, entry) -> {
            if (entry.lastIndex() > afterIndex && !entry.empty()) {
                total[0] += Math.min(ChunkEntry.BLOCKS, record.blockCount() - chunk * ChunkEntry.BLOCKS)
                        * record.blockSize();
            }
            return true;
        });
        return total[0];
    }

    /** Replaces a chunk with a healthy replica's image of it (data first, then the map entry). */
    public void installChunk(ChunkImage image) {
        ChunkEntry entry = ChunkEntry.decode(image.entry());
        ReentrantLock lock = lockFor(image.chunk());
        lock.lock();
        try {
            if (image.data().length > 0) {
                writeFile(Unpooled.wrappedBuffer(image.data()), image.chunk() * ChunkEntry.BLOCKS);
            }
            commit(image.chunk(), entry);
            counters.written(image.data().length);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Every allocated block and its CRC32C, in block order: what this replica vouches for. Replicas
     * of one volume that applied the same log agree on it exactly (compared by tests and, later, by
     * verify, without shipping data).
     */
    public java.util.SortedMap<Long, Integer> allocatedCrcs() {
        java.util.SortedMap<Long, Integer> crcs = new java.util.TreeMap<>();
        map.chunks(record.id(), 0, (chunk, entry) -> {
            for (int i = 0; i < ChunkEntry.BLOCKS; i++) {
                if (entry.isAllocated(i)) {
                    crcs.put(chunk * ChunkEntry.BLOCKS + i, entry.crc(i));
                }
            }
            return true;
        });
        return crcs;
    }

    /**
     * The volume's part of the block map in figures: chunk entries, those with nothing allocated
     * (kept for their log index), allocated blocks, and the highest log index of any chunk (the
     * last write this replica applied).
     */
    public record MapStats(long chunks, long emptyChunks, long allocatedBlocks, long highestIndex) {
    }

    /** Walks the volume's block map once. */
    public MapStats mapStats() {
        long[] figures = new long[4];
        map.chunks(record.id(), 0, (chunk, entry) -> {
            figures[0]++;
            figures[1] += entry.empty() ? 1 : 0;
            figures[2] += entry.allocatedCount();
            figures[3] = Math.max(figures[3], entry.lastIndex());
            return true;
        });
        return new MapStats(figures[0], figures[1], figures[2], figures[3]);
    }

    /** Allocated blocks of the volume (walks the block map). */
    public long allocatedBlocks() {
        long[] total = {0};
        map.chunks(record.id(), 0, (chunk, entry) -> {
            total[0] += entry.allocatedCount();
            return true;
        });
        return total[0];
    }

    @Override
    public void close() {
        try {
            sync();
        } finally {
            try {
                data.close();
            } catch (IOException e) {
                // nothing more to do: sync above reported any loss
            }
        }
    }
}

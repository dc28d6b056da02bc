package io.raftlun.volume;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import io.raftlun.volume.reservation.UnitAttentionListeners;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A volume in memory, thin: blocks never written read as zeros and cost nothing. For tests and for
 * measuring the layers above storage. Operations complete synchronously, in call order.
 */
public final class MemoryVolume implements BlockVolume {

    private static final int CHUNK_BLOCKS = 256;

    private final String name;
    private final int blockSize;
    private final long blockCount;
    private final byte[][] chunks;
    private final Reservations reservations = new Reservations();
    private final UnitAttentionListeners attentionListeners = new UnitAttentionListeners();

    public MemoryVolume(String name, long blockCount, int blockSize) {
        this.name = name;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.chunks = new byte[(int) ((blockCount + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS)][];
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long blockCount() {
        return blockCount;
    }

    private void check(long lba, long blocks) {
        VolumeException.requireInRange(name, blockCount, lba, blocks);
    }

    @Override
    public synchronized CompletableFuture<ByteBuf> read(long lba, int blocks) {
        try {
            check(lba, blocks);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        }
        ByteBuf out = PooledByteBufAllocator.DEFAULT.buffer(blocks * blockSize);
        for (long b = lba; b < lba + blocks; b++) {
            byte[] chunk = chunks[(int) (b / CHUNK_BLOCKS)];
            if (chunk == null) {
                out.writeZero(blockSize);
            } else {
                out.writeBytes(chunk, (int) (b % CHUNK_BLOCKS) * blockSize, blockSize);
            }
        }
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public synchronized CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua) {
        try {
            int blocks = data.readableBytes() / blockSize;
            check(lba, blocks);
            for (int i = 0; i < blocks; i++) {
                long b = lba + i;
                int c = (int) (b / CHUNK_BLOCKS);
                if (chunks[c] == null) {
                    chunks[c] = new byte[CHUNK_BLOCKS * blockSize];
                }
                data.getBytes(data.readerIndex() + i * blockSize, chunks[c], (int) (b % CHUNK_BLOCKS) * blockSize,
                        blockSize);
            }
            return CompletableFuture.completedFuture(null);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            data.release();
        }
    }

    @Override
    public synchronized CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap) {
        try {
            check(lba, blocks);
            boolean zeros = pattern.forEachByte(b -> b == 0) == -1;
            for (long b = lba; b < lba + blocks; b++) {
                int c = (int) (b / CHUNK_BLOCKS);
                if (chunks[c] == null) {
                    if (zeros) {
                        continue;
                    }
                    chunks[c] = new byte[CHUNK_BLOCKS * blockSize];
                }
                pattern.getBytes(pattern.readerIndex(), chunks[c], (int) (b % CHUNK_BLOCKS) * blockSize, blockSize);
            }
            return CompletableFuture.completedFuture(null);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            pattern.release();
        }
    }

    @Override
    public synchronized CompletableFuture<Void> unmap(List<Extent> extents) {
        for (Extent extent : extents) {
            try {
                check(extent.lba(), extent.blocks());
            } catch (VolumeException e) {
                return CompletableFuture.failedFuture(e);
            }
            for (long b = extent.lba(); b < extent.end(); b++) {
                byte[] chunk = chunks[(int) (b / CHUNK_BLOCKS)];
                if (chunk != null) {
                    java.util.Arrays.fill(chunk, (int) (b % CHUNK_BLOCKS) * blockSize,
                            (int) (b % CHUNK_BLOCKS + 1) * blockSize, (byte) 0);
                }
            }
            for (long c = (extent.lba() + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS; (c + 1) * CHUNK_BLOCKS <= extent.end(); c++) {
                chunks[(int) c] = null; // whole chunks are deallocated
            }
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua) {
        try {
            int blocks = compare.readableBytes() / blockSize;
            check(lba, blocks);
            ByteBuf current = read(lba, blocks).join();
            try {
                for (int i = 0; i < compare.readableBytes(); i++) {
                    if (current.getByte(i) != compare.getByte(compare.readerIndex() + i)) {
                        return CompletableFuture.completedFuture((long) i);
                    }
                }
            } finally {
                current.release();
            }
            write(lba, write.retain(), fua);
            return CompletableFuture.completedFuture(-1L);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            compare.release();
            write.release();
        }
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<List<LbaStatus>> lbaStatus(long lba, int maxExtents) {
        try {
            check(lba, 1);
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(e);
        }
        List<LbaStatus> extents = new ArrayList<>();
        long start = lba;
        boolean mapped = chunks[(int) (lba / CHUNK_BLOCKS)] != null;
        long b = lba;
        while (b < blockCount && extents.size() < maxExtents) {
            long chunkEnd = Math.min(blockCount, (b / CHUNK_BLOCKS + 1) * CHUNK_BLOCKS);
            boolean here = chunks[(int) (b / CHUNK_BLOCKS)] != null;
            if (here != mapped) {
                extents.add(new LbaStatus(start, b - start, mapped));
                start = b;
                mapped = here;
            }
            b = chunkEnd;
        }
        if (extents.size() < maxExtents) {
            extents.add(new LbaStatus(start, b - start, mapped));
        }
        return CompletableFuture.completedFuture(extents);
    }

    @Override
    public boolean writeCacheEnabled() {
        return false; // nothing is ever more durable than memory here
    }

    @Override
    public CompletableFuture<ReservationOutcome> reserve(ReservationCommand command) {
        return CompletableFuture.completedFuture(attentionListeners.tell(reservations.apply(command)));
    }

    @Override
    public AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener) {
        return attentionListeners.add(listener);
    }

    @Override
    public Reservations reservations() {
        return reservations;
    }

    @Override
    public void close() {
    }
}

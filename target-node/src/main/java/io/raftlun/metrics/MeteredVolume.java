package io.raftlun.metrics;

import io.netty.buffer.ByteBuf;
import io.raftlun.metrics.VolumeIoMeters.Op;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import io.raftlun.volume.reservation.Reservations;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A volume whose reads, writes, unmaps and flushes are counted and timed on their way through.
 * Everything else passes through, default methods too (a test checks that every method of
 * {@link BlockVolume} is overridden here, so one added later cannot silently skip the volume).
 */
final class MeteredVolume implements BlockVolume {

    private final BlockVolume volume;
    private final VolumeIoMeters meters;

    MeteredVolume(BlockVolume volume, VolumeIoMeters meters) {
        this.volume = volume;
        this.meters = meters;
    }

    @Override
    public CompletableFuture<ByteBuf> read(long lba, int blocks) {
        long start = meters.start();
        return meters.track(Op.READ, (long) blocks * volume.blockSize(), volume.read(lba, blocks), start);
    }

    @Override
    public CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua) {
        return write(lba, data, fua, 0);
    }

    @Override
    public CompletableFuture<Void> write(long lba, ByteBuf data, boolean fua, long fencingToken) {
        long bytes = data.readableBytes(); // the volume owns and releases data from the call on
        long start = meters.start();
        return meters.track(Op.WRITE, bytes, volume.write(lba, data, fua, fencingToken), start);
    }

    @Override
    public CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap) {
        return writeSame(lba, blocks, pattern, unmap, 0);
    }

    @Override
    public CompletableFuture<Void> writeSame(long lba, long blocks, ByteBuf pattern, boolean unmap,
                                             long fencingToken) {
        long start = meters.start();
        return meters.track(unmap ? Op.UNMAP : Op.WRITE, blocks * volume.blockSize(),
                volume.writeSame(lba, blocks, pattern, unmap, fencingToken), start);
    }

    @Override
    public CompletableFuture<Void> unmap(List<Extent> extents) {
        return unmap(extents, 0);
    }

    @Override
    public CompletableFuture<Void> unmap(List<Extent> extents, long fencingToken) {
        long blocks = 0;
        for (Extent extent : extents) {
            blocks += extent.blocks();
        }
        long start = meters.start();
        return meters.track(Op.UNMAP, blocks * volume.blockSize(), volume.unmap(extents, fencingToken), start);
    }

    @Override
    public CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua) {
        return compareAndWrite(lba, compare, write, fua, 0);
    }

    @Override
    public CompletableFuture<Long> compareAndWrite(long lba, ByteBuf compare, ByteBuf write, boolean fua,
                                                   long fencingToken) {
        long bytes = write.readableBytes();
        long start = meters.start();
        return meters.track(Op.WRITE, bytes, volume.compareAndWrite(lba, compare, write, fua, fencingToken), start);
    }

    @Override
    public CompletableFuture<Void> flush() {
        long start = meters.start();
        return meters.track(Op.FLUSH, 0, volume.flush(), start);
    }

    // ---------------------------------------------------------------- the rest passes through

    @Override
    public String name() {
        return volume.name();
    }

    @Override
    public int blockSize() {
        return volume.blockSize();
    }

    @Override
    public long blockCount() {
        return volume.blockCount();
    }

    @Override
    public CompletableFuture<List<LbaStatus>> lbaStatus(long lba, int maxExtents) {
        return volume.lbaStatus(lba, maxExtents);
    }

    @Override
    public boolean writeCacheEnabled() {
        return volume.writeCacheEnabled();
    }

    @Override
    public CompletableFuture<ReservationOutcome> reserve(ReservationCommand command) {
        return volume.reserve(command);
    }

    @Override
    public Reservations reservations() {
        return volume.reservations();
    }

    @Override
    public AutoCloseable onUnitAttentions(Consumer<List<UnitAttention>> listener) {
        return volume.onUnitAttentions(listener);
    }

    @Override
    public CompletableFuture<Void> reset() {
        return volume.reset();
    }

    @Override
    public AutoCloseable onResetElsewhere(Runnable listener) {
        return volume.onResetElsewhere(listener);
    }

    @Override
    public String leaderNode() {
        return volume.leaderNode();
    }

    @Override
    public AutoCloseable onLeaderChange(Runnable listener) {
        return volume.onLeaderChange(listener);
    }

    @Override
    public void close() {
        volume.close();
    }
}

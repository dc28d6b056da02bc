package io.raftlun.scsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.volume.VolumeException;
import java.util.concurrent.CompletableFuture;

/** A command being executed against one logical unit, with the ways a handler may finish it. */
final class Request {

    final ScsiCommand command;
    final LogicalUnit unit;
    final byte[] cdb;
    private boolean dataOutTaken;

    Request(ScsiCommand command, LogicalUnit unit) {
        this.command = command;
        this.unit = unit;
        this.cdb = command.cdb();
    }

    /** The initiator's expected data transfer length, in bytes. */
    long expectedLength() {
        return Integer.toUnsignedLong(command.expectedLength());
    }

    ItNexus nexus() {
        return command.nexus();
    }

    /** The initiator's data; the caller owns the returned buffer. */
    ByteBuf takeDataOut() {
        dataOutTaken = true;
        return command.dataOut();
    }

    /** Releases the data-out buffer unless a handler took it. */
    void releaseUnusedData() {
        if (!dataOutTaken && command.dataOut().refCnt() > 0) {
            command.dataOut().release();
        }
        dataOutTaken = true;
    }

    static CompletableFuture<ScsiResult> good() {
        return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.GOOD, null, null, 0));
    }

    /** GOOD for a data-out command that took {@code bytes} by its CDB. */
    static CompletableFuture<ScsiResult> goodAfterWriting(long bytes) {
        return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.GOOD, null, null, bytes));
    }

    /** GOOD with data, cut to the allocation length as SPC-4 4.2.5.6 says. */
    static CompletableFuture<ScsiResult> data(byte[] bytes, long allocationLength) {
        int length = (int) Math.min(bytes.length, allocationLength);
        return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.GOOD, null,
                Unpooled.wrappedBuffer(bytes, 0, length), length));
    }

    static CompletableFuture<ScsiResult> data(ByteBuf buffer) {
        return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.GOOD, null, buffer,
                buffer.readableBytes()));
    }

    static CompletableFuture<ScsiResult> check(Sense sense) {
        return check(sense, 0);
    }

    /** CHECK CONDITION for a command that by its CDB would have moved {@code bytes}. */
    static CompletableFuture<ScsiResult> check(Sense sense, long bytes) {
        return CompletableFuture.completedFuture(result(sense, bytes));
    }

    static ScsiResult result(Sense sense, long bytes) {
        return new ScsiResult(ScsiResult.CHECK_CONDITION, sense.toBytes(), null, bytes);
    }

    static CompletableFuture<ScsiResult> conflict() {
        return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.RESERVATION_CONFLICT, null, null, 0));
    }

    /** The sense for a volume failure: what the initiator can make of it. */
    static ScsiResult failure(Throwable failure, long bytes) {
        Throwable cause = VolumeException.cause(failure);
        if (cause instanceof VolumeException volume) {
            if (volume.kind() == VolumeException.Kind.FENCED) {
                return ScsiResult.STALE_CONNECTION;
            }
            Sense sense = switch (volume.kind()) {
                case OUT_OF_RANGE -> Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE);
                case MEDIUM_ERROR -> Sense.of(Sense.MEDIUM_ERROR, Sense.UNRECOVERED_READ_ERROR);
                case UNAVAILABLE -> Sense.of(Sense.NOT_READY, Sense.LOGICAL_UNIT_NOT_READY);
                case WRITE_PROTECTED -> Sense.of(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED);
                case INTERNAL, FENCED -> Sense.of(Sense.HARDWARE_ERROR, Sense.INTERNAL_TARGET_FAILURE); // FENCED: above
            };
            return result(sense, bytes);
        }
        return result(Sense.of(Sense.HARDWARE_ERROR, Sense.INTERNAL_TARGET_FAILURE), bytes);
    }
}

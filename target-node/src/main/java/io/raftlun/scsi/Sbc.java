package io.raftlun.scsi;

import io.netty.buffer.ByteBuf;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Block device commands (SBC-3/4): reads and writes and their relatives, capacity, provisioning. */
final class Sbc {

    /** Where a CDB keeps its LBA and transfer length (SBC-4 4.2.2). */
    private record Range(long lba, long blocks, int lengthField) {
    }

    private static Range range(byte[] cdb) {
        int opcode = cdb[0] & 0xff;
        return switch (opcode >>> 5) {
            case 0 -> { // 6-byte: 21-bit LBA, 0 blocks means 256 (SBC-4 5.13)
                int blocks = cdb[4] & 0xff;
                yield new Range(((cdb[1] & 0x1f) << 16) | Cdb.u16(cdb, 2), blocks == 0 ? 256 : blocks, 4);
            }
            case 1, 2 -> new Range(Cdb.u32(cdb, 2), Cdb.u16(cdb, 7), 7);
            case 5 -> new Range(Cdb.u32(cdb, 2), Cdb.u32(cdb, 6), 6);
            default -> new Range(Cdb.u64(cdb, 2), Cdb.u32(cdb, 10), 10);
        };
    }

    /** LBA OUT OF RANGE unless every block of the range exists (SBC-4 4.5). */
    private static boolean outOfRange(BlockVolume volume, long lba, long blocks) {
        long capacity = volume.blockCount();
        return lba < 0 || Long.compareUnsigned(lba, capacity) > 0 || blocks > capacity - lba;
    }

    /** Protection information is not offered: RDPROTECT/WRPROTECT/VRPROTECT must be zero. */
    private static boolean protectionRequested(byte[] cdb) {
        return (cdb[0] & 0xff) >>> 5 != 0 && (cdb[1] & 0xe0) != 0;
    }

    // ------------------------------------------------------------ reads

    CompletableFuture<ScsiResult> read(Request r) {
        Range range = range(r.cdb);
        BlockVolume volume = r.unit.volume();
        long bytes = range.blocks * volume.blockSize();
        if (protectionRequested(r.cdb)) {
            return Request.check(Sense.invalidCdbField(1, 5), bytes);
        }
        if (outOfRange(volume, range.lba, range.blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), bytes);
        }
        if (bytes > BlockLimits.MAX_TRANSFER_BYTES) {
            return Request.check(Sense.invalidCdbField(range.lengthField), bytes);
        }
        if (range.blocks == 0) {
            return Request.good();
        }
        return volume.read(range.lba, (int) range.blocks)
                .thenApply(data -> new ScsiResult(ScsiResult.GOOD, null, data, bytes))
                .exceptionally(failure -> Request.failure(failure, bytes));
    }

    // ------------------------------------------------------------ writes

    CompletableFuture<ScsiResult> write(Request r) {
        boolean fua = (r.cdb[0] & 0xff) != Commands.WRITE_6 && (r.cdb[1] & 0x08) != 0;
        return write(r, fua);
    }

    CompletableFuture<ScsiResult> writeAndVerify(Request r) {
        return write(r, true); // verified on the medium means written to the medium
    }

    private CompletableFuture<ScsiResult> write(Request r, boolean fua) {
        Range range = range(r.cdb);
        BlockVolume volume = r.unit.volume();
        long bytes = range.blocks * volume.blockSize();
        if (protectionRequested(r.cdb)) {
            return Request.check(Sense.invalidCdbField(1, 5), bytes);
        }
        if (r.unit.readOnly()) {
            return Request.check(Sense.of(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED), bytes);
        }
        if (outOfRange(volume, range.lba, range.blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), bytes);
        }
        if (bytes > BlockLimits.MAX_TRANSFER_BYTES) {
            return Request.check(Sense.invalidCdbField(range.lengthField), bytes);
        }
        if (range.blocks == 0) {
            return Request.goodAfterWriting(0);
        }
        // The initiator may send less than the CDB asks for (a smaller expected length): the whole
        // blocks it sent are written and the transport reports the overflow as residual, as Linux
        // LIO does and libiscsi's residual tests expect. Extra data beyond the CDB is ignored.
        ByteBuf data = r.takeDataOut();
        int blockSize = volume.blockSize();
        long whole = Math.min(range.blocks, data.readableBytes() / blockSize);
        if (whole == 0) {
            boolean partial = data.isReadable();
            data.release();
            return partial ? Request.check(Sense.illegalRequest(Sense.INVALID_FIELD_IN_INFORMATION_UNIT), bytes)
                    : Request.goodAfterWriting(bytes);
        }
        if (data.readableBytes() != whole * blockSize) {
            ByteBuf exact = data.retainedSlice(data.readerIndex(), (int) (whole * blockSize));
            data.release();
            data = exact;
        }
        return volume.write(range.lba, data, r.unit.forceUnitAccess(fua), r.nexus().fencingToken())
                .thenApply(v -> new ScsiResult(ScsiResult.GOOD, null, null, bytes))
                .exceptionally(failure -> Request.failure(failure, bytes));
    }

    /** Exactly {@code bytes} of the initiator's data (extra data is dropped), or null if it sent less. */
    private static ByteBuf exactData(Request r, long bytes) {
        ByteBuf data = r.takeDataOut();
        if (data.readableBytes() < bytes) {
            data.release();
            return null;
        }
        if (data.readableBytes() == bytes) {
            return data;
        }
        ByteBuf exact = data.retainedSlice(data.readerIndex(), (int) bytes);
        data.release();
        return exact;
    }

    CompletableFuture<ScsiResult> verify(Request r) {
        Range range = range(r.cdb);
        BlockVolume volume = r.unit.volume();
        int byteCheck = (r.cdb[1] >> 1) & 0x03;
        long dataBytes = switch (byteCheck) {
            case 1 -> range.blocks * volume.blockSize();
            case 3 -> volume.blockSize();
            default -> 0;
        };
        if (protectionRequested(r.cdb)) {
            return Request.check(Sense.invalidCdbField(1, 5), dataBytes);
        }
        if (byteCheck == 2) {
            return Request.check(Sense.invalidCdbField(1, 1), 0);
        }
        if (outOfRange(volume, range.lba, range.blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), dataBytes);
        }
        if (range.blocks * volume.blockSize() > BlockLimits.MAX_TRANSFER_BYTES) {
            return Request.check(Sense.invalidCdbField(range.lengthField), dataBytes);
        }
        if (range.blocks == 0) {
            return Request.goodAfterWriting(0);
        }
        ByteBuf expected = null;
        if (byteCheck != 0) {
            expected = exactData(r, dataBytes);
            if (expected == null) {
                return Request.check(Sense.illegalRequest(Sense.INVALID_FIELD_IN_INFORMATION_UNIT), dataBytes);
            }
        }
        ByteBuf compare = expected;
        int blockSize = volume.blockSize();
        return volume.read(range.lba, (int) range.blocks).handle((medium, failure) -> {
            try {
                if (failure != null) {
                    return Request.failure(failure, dataBytes);
                }
                if (compare == null) {
                    return new ScsiResult(ScsiResult.GOOD, null, null, 0);
                }
                for (int i = 0; i < medium.readableBytes(); i++) {
                    int j = byteCheck == 3 ? i % blockSize : i;
                    if (medium.getByte(medium.readerIndex() + i) != compare.getByte(compare.readerIndex() + j)) {
                        return Request.result(Sense.of(Sense.MISCOMPARE, Sense.MISCOMPARE_DURING_VERIFY)
                                .withInformation(i), dataBytes);
                    }
                }
                return new ScsiResult(ScsiResult.GOOD, null, null, dataBytes);
            } finally {
                if (medium != null) {
                    medium.release();
                }
                if (compare != null) {
                    compare.release();
                }
            }
        });
    }

    CompletableFuture<ScsiResult> compareAndWrite(Request r) {
        BlockVolume volume = r.unit.volume();
        long lba = Cdb.u64(r.cdb, 2);
        int blocks = r.cdb[13] & 0xff;
        long bytes = 2L * blocks * volume.blockSize();
        if (protectionRequested(r.cdb)) {
            return Request.check(Sense.invalidCdbField(1, 5), bytes);
        }
        if (r.unit.readOnly()) {
            return Request.check(Sense.of(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED), bytes);
        }
        if (blocks > BlockLimits.MAX_COMPARE_AND_WRITE_BLOCKS || r.expectedLength() != bytes) {
            // Compare and write halves are only meaningful with exactly the data the CDB describes.
            return Request.check(Sense.invalidCdbField(13), bytes);
        }
        if (outOfRange(volume, lba, blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), bytes);
        }
        if (blocks == 0) {
            return Request.goodAfterWriting(0);
        }
        ByteBuf data = exactData(r, bytes);
        if (data == null) {
            return Request.check(Sense.illegalRequest(Sense.INVALID_FIELD_IN_INFORMATION_UNIT), bytes);
        }
        int half = (int) (bytes / 2);
        ByteBuf compare = data.retainedSlice(data.readerIndex(), half);
        ByteBuf write = data.retainedSlice(data.readerIndex() + half, half);
        data.release();
        boolean fua = r.unit.forceUnitAccess((r.cdb[1] & 0x08) != 0);
        return volume.compareAndWrite(lba, compare, write, fua, r.nexus().fencingToken()).handle((offset, failure) -> {
            if (failure != null) {
                return Request.failure(failure, bytes);
            }
            if (offset >= 0) {
                // SBC-4 5.3: MISCOMPARE, INFORMATION is the offset of the first differing byte.
                return Request.result(Sense.of(Sense.MISCOMPARE, Sense.MISCOMPARE_DURING_VERIFY)
                        .withInformation(offset), bytes);
            }
            return new ScsiResult(ScsiResult.GOOD, null, null, bytes);
        });
    }

    CompletableFuture<ScsiResult> writeSame(Request r) {
        boolean sixteen = (r.cdb[0] & 0xff) == Commands.WRITE_SAME_16;
        BlockVolume volume = r.unit.volume();
        long lba = sixteen ? Cdb.u64(r.cdb, 2) : Cdb.u32(r.cdb, 2);
        long blocks = sixteen ? Cdb.u32(r.cdb, 10) : Cdb.u16(r.cdb, 7);
        boolean unmap = (r.cdb[1] & 0x08) != 0;
        boolean noDataOut = sixteen && (r.cdb[1] & 0x01) != 0;
        long bytes = noDataOut ? 0 : volume.blockSize();
        if (protectionRequested(r.cdb)) {
            return Request.check(Sense.invalidCdbField(1, 5), bytes);
        }
        if ((r.cdb[1] & 0x10) != 0) {
            return Request.check(Sense.invalidCdbField(1, 4), bytes); // ANCHOR: anchored blocks are not offered
        }
        if (r.unit.readOnly()) {
            return Request.check(Sense.of(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED), bytes);
        }
        if (r.expectedLength() != bytes) {
            return Request.check(Sense.invalidCdbField(sixteen ? 10 : 7), bytes); // one block of pattern, exactly
        }
        if (blocks == 0 || blocks > BlockLimits.MAX_WRITE_SAME_BLOCKS) {
            // WSNZ is set in the block limits: zero means "to the end", which we do not offer.
            return Request.check(Sense.invalidCdbField(sixteen ? 10 : 7), bytes);
        }
        if (outOfRange(volume, lba, blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), bytes);
        }
        ByteBuf pattern;
        if (noDataOut) {
            pattern = io.netty.buffer.Unpooled.wrappedBuffer(new byte[volume.blockSize()]);
        } else {
            pattern = exactData(r, bytes);
            if (pattern == null) {
                return Request.check(Sense.illegalRequest(Sense.INVALID_FIELD_IN_INFORMATION_UNIT), bytes);
            }
        }
        return volume.writeSame(lba, blocks, pattern, unmap, r.nexus().fencingToken())
                .thenApply(v -> new ScsiResult(ScsiResult.GOOD, null, null, bytes))
                .exceptionally(failure -> Request.failure(failure, bytes));
    }

    CompletableFuture<ScsiResult> unmap(Request r) {
        BlockVolume volume = r.unit.volume();
        int length = Cdb.u16(r.cdb, 7);
        if ((r.cdb[1] & 0x01) != 0) {
            return Request.check(Sense.invalidCdbField(1, 0), length); // ANCHOR
        }
        if (r.unit.readOnly()) {
            return Request.check(Sense.of(Sense.DATA_PROTECT, Sense.WRITE_PROTECTED), length);
        }
        if (length == 0) {
            return Request.goodAfterWriting(0);
        }
        if (length < 8) {
            return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
        }
        ByteBuf data = r.takeDataOut();
        byte[] list;
        try {
            if (data.readableBytes() < length) {
                return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
            }
            list = new byte[length];
            data.getBytes(data.readerIndex(), list);
        } finally {
            data.release();
        }
        int descriptorBytes = Math.min(Cdb.u16(list, 2), length - 8);
        int count = descriptorBytes / 16;
        if (count > BlockLimits.MAX_UNMAP_DESCRIPTORS) {
            return Request.check(Sense.invalidParameter(2), length);
        }
        List<Extent> extents = new ArrayList<>(count);
        long total = 0;
        for (int i = 0; i < count; i++) {
            long lba = Cdb.u64(list, 8 + 16 * i);
            long blocks = Cdb.u32(list, 16 + 16 * i);
            if (outOfRange(volume, lba, blocks)) {
                return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE), length);
            }
            total += blocks;
            if (blocks > 0) {
                extents.add(new Extent(lba, blocks));
            }
        }
        if (total > BlockLimits.MAX_UNMAP_BLOCKS) {
            return Request.check(Sense.invalidParameter(8), length);
        }
        if (extents.isEmpty()) {
            return Request.goodAfterWriting(length);
        }
        return volume.unmap(extents, r.nexus().fencingToken())
                .thenApply(v -> new ScsiResult(ScsiResult.GOOD, null, null, length))
                .exceptionally(failure -> Request.failure(failure, length));
    }

    CompletableFuture<ScsiResult> synchronizeCache(Request r) {
        Range range = range(r.cdb);
        BlockVolume volume = r.unit.volume();
        if (outOfRange(volume, range.lba, range.blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE));
        }
        return volume.flush()
                .thenApply(v -> new ScsiResult(ScsiResult.GOOD, null, null, 0))
                .exceptionally(failure -> Request.failure(failure, 0));
    }

    CompletableFuture<ScsiResult> preFetch(Request r) {
        Range range = range(r.cdb);
        if (outOfRange(r.unit.volume(), range.lba, range.blocks)) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE));
        }
        return Request.good(); // nothing to stage: the block store has no slower tier
    }

    // ------------------------------------------------------------ capacity and provisioning

    CompletableFuture<ScsiResult> readCapacity10(Request r) {
        if ((r.cdb[8] & 0x01) == 0 && Cdb.u32(r.cdb, 2) != 0) {
            return Request.check(Sense.invalidCdbField(2)); // an LBA without PMI (SBC-3 5.15)
        }
        BlockVolume volume = r.unit.volume();
        byte[] data = new byte[8];
        Cdb.put32(data, 0, Math.min(volume.blockCount() - 1, 0xffffffffL));
        Cdb.put32(data, 4, volume.blockSize());
        return Request.data(data, 8);
    }

    CompletableFuture<ScsiResult> readCapacity16(Request r) {
        BlockVolume volume = r.unit.volume();
        long allocation = Cdb.u32(r.cdb, 10);
        byte[] data = new byte[32];
        Cdb.put64(data, 0, volume.blockCount() - 1);
        Cdb.put32(data, 8, volume.blockSize());
        int perPhysical = Math.max(1, BlockLimits.PHYSICAL_BLOCK_BYTES / volume.blockSize());
        data[13] = (byte) Integer.numberOfTrailingZeros(perPhysical);
        data[14] = (byte) (0x80 | 0x40); // LBPME: thin provisioned; LBPRZ: unmapped blocks read zeros
        return Request.data(data, allocation);
    }

    CompletableFuture<ScsiResult> getLbaStatus(Request r) {
        BlockVolume volume = r.unit.volume();
        long lba = Cdb.u64(r.cdb, 2);
        long allocation = Cdb.u32(r.cdb, 10);
        if (Long.compareUnsigned(lba, volume.blockCount()) >= 0) {
            return Request.check(Sense.illegalRequest(Sense.LBA_OUT_OF_RANGE));
        }
        if (allocation < 24) {
            // Room for the header and one descriptor at least; less is answered with what fits.
            return lbaStatusReply(volume, lba, 1, allocation);
        }
        int maxExtents = (int) Math.min(64, (allocation - 8) / 16);
        return lbaStatusReply(volume, lba, maxExtents, allocation);
    }

    private static CompletableFuture<ScsiResult> lbaStatusReply(BlockVolume volume, long lba, int maxExtents,
                                                                long allocation) {
        return volume.lbaStatus(lba, maxExtents).thenApply(extents -> {
            byte[] data = new byte[8 + 16 * extents.size()];
            Cdb.put32(data, 0, data.length - 4);
            for (int i = 0; i < extents.size(); i++) {
                LbaStatus e = extents.get(i);
                Cdb.put64(data, 8 + 16 * i, e.lba());
                Cdb.put32(data, 16 + 16 * i, Math.min(e.blocks(), 0xffffffffL));
                data[20 + 16 * i] = (byte) (e.mapped() ? 0 : 1);
            }
            int length = (int) Math.min(data.length, allocation);
            return new ScsiResult(ScsiResult.GOOD, null, io.netty.buffer.Unpooled.wrappedBuffer(data, 0, length),
                    length);
        }).exceptionally(failure -> Request.failure(failure, 0));
    }
}

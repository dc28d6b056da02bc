package io.raftlun.replication;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.BlockStore;
import io.raftlun.volume.Extent;
import io.raftlun.volume.VolumeException;
import io.raftlun.volume.reservation.ReservationOutcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteOutput;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The wire form of what a volume's Raft group carries: log entries (changes, applied in log order
 * on every replica) and queries (answered by one replica after a linearizable read barrier). The
 * first byte names the kind; the payload of a write follows its header directly, so a replica
 * applies it from the log entry's bytes without another copy.
 */
final class VolumeEntry {

    // log entries
    static final byte WRITE = 1;          // lba, data
    static final byte WRITE_SAME = 2;     // lba, blocks, deallocate, pattern
    static final byte UNMAP = 3;          // count, (lba, blocks)*
    static final byte COMPARE_AND_WRITE = 4; // lba, compare length, compare, write
    static final byte RESERVE = 5;        // reservation command
    static final byte RESET = 6;          // name of the node the reset came through; releases RESERVE(6)
    static final byte GROW = 7;           // block count: every replica grows at the same log index
    static final byte REPAIR = 8;         // chunk images from a healthy replica: scrub's repair
    static final byte NOTE_DIGESTS = 9;   // from chunk, to chunk: each replica notes its chunk digests here
    static final byte WRITES = 10;        // count, (lba, length)*, the data of each in turn: writes batched
    static final byte FENCED = 11;        // fencing token, a change entry: the change as a portal holder made it

    // queries
    static final byte BARRIER = 16;       // -> index of the last change applied there (older nodes: nothing)
    static final byte READ = 17;          // lba, blocks -> data
    static final byte LBA_STATUS = 18;    // lba, max extents -> (lba, blocks, mapped)*
    static final byte STATE = 19;         // -> term, index, reservations
    static final byte CHANGED_CHUNKS = 20; // after index, from chunk, max bytes -> chunk images
    static final byte SCRUB = 21;         // from chunk, max bytes, recheck -> next chunk, blocks checked, bad blocks
    static final byte NOTED_DIGESTS = 22; // index of a NOTE_DIGESTS entry -> the digests noted there
    static final byte CHANGED_BYTES = 23; // after index -> chunk data bytes CHANGED_CHUNKS would ship

    private VolumeEntry() {
    }

    /** A write; with a fencing token other than 0, {@link #FENCED} by it (see {@link #fenced}). */
    static Message write(long token, long lba, ByteBuf data) {
        byte[] bytes = new byte[fenceBytes(token) + 9 + data.readableBytes()];
        ByteBuffer out = fence(ByteBuffer.wrap(bytes), token).put(WRITE).putLong(lba);
        data.getBytes(data.readerIndex(), bytes, out.position(), data.readableBytes());
        return message(bytes);
    }

    /**
     * Several writes in one entry, applied in their order at one index (see {@link WriteBatcher});
     * with a fencing token other than 0, {@link #FENCED} by it.
     */
    static Message writes(long token, List<BlockStore.BlockWrite> writes) {
        int header = fenceBytes(token) + 5 + 12 * writes.size();
        int size = header;
        for (BlockStore.BlockWrite write : writes) {
            size += write.data().readableBytes();
        }
        byte[] bytes = new byte[size];
        ByteBuffer out = fence(ByteBuffer.wrap(bytes), token).put(WRITES).putInt(writes.size());
        int at = header;
        for (BlockStore.BlockWrite write : writes) {
            ByteBuf data = write.data();
            out.putLong(write.lba()).putInt(data.readableBytes());
            data.getBytes(data.readerIndex(), bytes, at, data.readableBytes());
            at += data.readableBytes();
        }
        return message(bytes);
    }

    /** The writes of a {@link #WRITES} entry, after its kind byte; their data are views of {@code in}. */
    static List<BlockStore.BlockWrite> writes(ByteBuffer in) {
        int count = in.getInt();
        int at = in.position() + 12 * count;
        List<BlockStore.BlockWrite> writes = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long lba = in.getLong();
            int length = in.getInt();
            writes.add(new BlockStore.BlockWrite(lba, Unpooled.wrappedBuffer(in.slice(at, length))));
            at += length;
        }
        return writes;
    }

    /**
     * A change entry as the holder of a fenced portal made it (the cluster's floating portal, whose
     * token is the term in which its holder took it): a replica applies it unless an entry before
     * it carried a higher token, that is, unless a newer holder has already changed the volume.
     * The entry's own token becomes the volume's fence. So a change that reaches the log late from
     * a holder that lost the portal (resent after a partition healed, say) cannot overwrite what
     * the initiator wrote since through the new holder. Token 0 leaves the entry as it is.
     */
    static Message fenced(long token, Message change) {
        if (token == 0) {
            return change;
        }
        ByteBuffer inner = change.getContent().asReadOnlyByteBuffer();
        byte[] bytes = new byte[fenceBytes(token) + inner.remaining()];
        fence(ByteBuffer.wrap(bytes), token).put(inner);
        return message(bytes);
    }

    private static int fenceBytes(long token) {
        return token == 0 ? 0 : 9;
    }

    private static ByteBuffer fence(ByteBuffer out, long token) {
        return token == 0 ? out : out.put(FENCED).putLong(token);
    }

    /** What a replica answers a {@link #FENCED} entry: applied (then the change's own answer), or refused. */
    static Message fencedAnswer(boolean applied, long fence, Message change) {
        ByteBuffer inner = change.getContent().asReadOnlyByteBuffer();
        return answer(ByteBuffer.allocate(9 + inner.remaining()).put((byte) (applied ? 1 : 0)).putLong(fence)
                .put(inner).flip());
    }

    /** The change's own answer to a {@link #FENCED} entry; fails with FENCED if a newer token refused it. */
    static Message unfenced(Message answer, String volume, long token) {
        ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
        boolean applied = in.get() != 0;
        long fence = in.getLong();
        if (!applied) {
            throw new VolumeException(VolumeException.Kind.FENCED, "volume " + volume + " refused a change through a "
                    + "portal held in term " + token + ": the portal's holder of term " + fence + " has written since");
        }
        return answer(in.slice());
    }

    static Message writeSame(long lba, long blocks, ByteBuf pattern, boolean deallocate) {
        byte[] bytes = new byte[18 + pattern.readableBytes()];
        ByteBuffer.wrap(bytes).put(WRITE_SAME).putLong(lba).putLong(blocks).put((byte) (deallocate ? 1 : 0));
        pattern.getBytes(pattern.readerIndex(), bytes, 18, pattern.readableBytes());
        return message(bytes);
    }

    static Message unmap(List<Extent> extents) {
        ByteBuffer out = ByteBuffer.allocate(5 + 16 * extents.size()).put(UNMAP).putInt(extents.size());
        for (Extent extent : extents) {
            out.putLong(extent.lba()).putLong(extent.blocks());
        }
        return message(out.array());
    }

    static Message compareAndWrite(long lba, ByteBuf compare, ByteBuf write) {
        int half = compare.readableBytes();
        byte[] bytes = new byte[13 + 2 * half];
        ByteBuffer.wrap(bytes).put(COMPARE_AND_WRITE).putLong(lba).putInt(half);
        compare.getBytes(compare.readerIndex(), bytes, 13, half);
        write.getBytes(write.readerIndex(), bytes, 13 + half, half);
        return message(bytes);
    }

    static Message reserve(byte[] command) {
        byte[] bytes = new byte[1 + command.length];
        bytes[0] = RESERVE;
        System.arraycopy(command, 0, bytes, 1, command.length);
        return message(bytes);
    }

    static Message reset(String origin) {
        byte[] node = origin.getBytes(StandardCharsets.UTF_8);
        return message(ByteBuffer.allocate(1 + node.length).put(RESET).put(node).array());
    }

    static Message grow(long blockCount) {
        return message(ByteBuffer.allocate(9).put(GROW).putLong(blockCount).array());
    }

    static Message query(byte kind, long... arguments) {
        ByteBuffer out = ByteBuffer.allocate(1 + 8 * arguments.length).put(kind);
        for (long argument : arguments) {
            out.putLong(argument);
        }
        return message(out.array());
    }

    static Message message(byte[] bytes) {
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes));
    }

    static Message answer(ByteBuffer bytes) {
        return Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes));
    }

    static List<Extent> extents(ByteBuffer in) {
        int count = in.getInt();
        List<Extent> extents = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            extents.add(new Extent(in.getLong(), in.getLong()));
        }
        return extents;
    }

    // ---------------------------------------------------------------- answers

    static Message offset(long offset) {
        return answer(ByteBuffer.allocate(8).putLong(0, offset));
    }

    static long offset(Message answer) {
        return answer.getContent().asReadOnlyByteBuffer().getLong();
    }

    static Message size(long bytes) {
        return offset(bytes);
    }

    static long size(Message answer) {
        return offset(answer);
    }

    static Message outcome(ReservationOutcome outcome) {
        ByteBuffer out = ByteBuffer.allocate(4096);
        out.put((byte) outcome.result().ordinal()).putInt(outcome.asc()).putInt(outcome.fieldPointer())
                .put((byte) (outcome.inCdb() ? 1 : 0)).putInt(outcome.unitAttentions().size());
        for (ReservationOutcome.UnitAttention ua : outcome.unitAttentions()) {
            byte[] nexus = ua.nexus().getBytes(StandardCharsets.UTF_8);
            if (out.remaining() < nexus.length + 8) {
                ByteBuffer bigger = ByteBuffer.allocate(out.capacity() * 2 + nexus.length);
                out.flip();
                out = bigger.put(out);
            }
            out.putInt(nexus.length).put(nexus).putInt(ua.asc());
        }
        out.flip();
        return answer(out);
    }

    static ReservationOutcome outcome(Message answer) {
        ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
        ReservationOutcome.Result result = ReservationOutcome.Result.values()[in.get()];
        int asc = in.getInt();
        int field = in.getInt();
        boolean inCdb = in.get() != 0;
        int count = in.getInt();
        List<ReservationOutcome.UnitAttention> attentions = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            byte[] nexus = new byte[in.getInt()];
            in.get(nexus);
            attentions.add(new ReservationOutcome.UnitAttention(new String(nexus,
                    StandardCharsets.UTF_8), in.getInt()));
        }
        return new ReservationOutcome(result, asc, field, inCdb, attentions);
    }

    /**
     * A replica's applied position and the volume's state besides its blocks there (as a
     * checkpoint records it: see {@link VolumeStateMachine}), as a STATE query answers.
     */
    record ReplicaState(TermIndex at, byte[] state) {
    }

    static ReplicaState state(Message answer) {
        ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
        TermIndex at = TermIndex.valueOf(in.getLong(), in.getLong());
        byte[] state = new byte[in.remaining()];
        in.get(state);
        return new ReplicaState(at, state);
    }

    static Message chunks(List<BlockStore.ChunkImage> images) {
        int size = 4;
        for (BlockStore.ChunkImage image : images) {
            size += 16 + image.entry().length + image.data().length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).putInt(images.size());
        for (BlockStore.ChunkImage image : images) {
            out.putLong(image.chunk()).putInt(image.entry().length).put(image.entry())
                    .putInt(image.data().length).put(image.data());
        }
        out.flip();
        return answer(out);
    }

    static List<BlockStore.ChunkImage> chunks(Message answer) {
        return chunks(answer.getContent().asReadOnlyByteBuffer());
    }

    static List<BlockStore.ChunkImage> chunks(ByteBuffer in) {
        int count = in.getInt();
        List<BlockStore.ChunkImage> images = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long chunk = in.getLong();
            byte[] entry = new byte[in.getInt()];
            in.get(entry);
            byte[] data = new byte[in.getInt()];
            in.get(data);
            images.add(new BlockStore.ChunkImage(chunk, entry, data));
        }
        return images;
    }

    static Message repair(List<BlockStore.ChunkImage> images) {
        ByteBuffer body = chunks(images).getContent().asReadOnlyByteBuffer();
        ByteBuffer out = ByteBuffer.allocate(1 + body.remaining()).put(REPAIR).put(body);
        return message(out.array());
    }

    static Message scrubStep(BlockStore.ScrubStep step) {
        ByteBuffer out = ByteBuffer.allocate(20 + 16 * step.bad().size()).putLong(step.nextChunk())
                .putLong(step.blocksChecked()).putInt(step.bad().size());
        for (BlockStore.BadBlock bad : step.bad()) {
            out.putLong(bad.block()).putLong(bad.chunkIndex());
        }
        return answer(out.flip());
    }

    static BlockStore.ScrubStep scrubStep(Message answer) {
        ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
        long next = in.getLong();
        long checked = in.getLong();
        int count = in.getInt();
        List<BlockStore.BadBlock> bad = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            bad.add(new BlockStore.BadBlock(in.getLong(), in.getLong()));
        }
        return new BlockStore.ScrubStep(next, checked, bad);
    }

    static Message digests(List<BlockStore.ChunkDigest> digests) {
        ByteBuffer out = ByteBuffer.allocate(4 + 24 * digests.size()).putInt(digests.size());
        for (BlockStore.ChunkDigest d : digests) {
            out.putLong(d.chunk()).putLong(d.lastIndex()).putInt(d.allocated()).putInt(d.mapCrc());
        }
        return answer(out.flip());
    }

    static List<BlockStore.ChunkDigest> digests(Message answer) {
        ByteBuffer in = answer.getContent().asReadOnlyByteBuffer();
        int count = in.getInt();
        List<BlockStore.ChunkDigest> digests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            digests.add(new BlockStore.ChunkDigest(in.getLong(), in.getLong(), in.getInt(), in.getInt()));
        }
        return digests;
    }

    static ByteString bytes(Message message) {
        return message.getContent();
    }

    /**
     * A log entry's bytes as a buffer over the array that holds them, where one array does; else
     * a read-only view. A read-only heap buffer hides its array, and the JDK's CRC32C then copies
     * it through a new 4 KiB array for every block it checksums, on every replica (for a 4 KiB
     * write, about a third of what the leader allocated). The array is the entry's own, which
     * Ratis caches and sends to followers: what reads from this buffer must never write to it.
     */
    static ByteBuffer inPlace(ByteString bytes) {
        InPlace found = new InPlace();
        try {
            UnsafeByteOperations.unsafeWriteTo(bytes, found);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // InPlace throws none
        }
        return found.buffer != null && !found.elsewhere ? found.buffer : bytes.asReadOnlyByteBuffer();
    }

    /** Where a {@link ByteString} keeps its bytes, if in one piece it hands over without a copy. */
    private static final class InPlace extends ByteOutput {

        ByteBuffer buffer;
        /** Some bytes came in a second piece, or as a copy that may not be kept. */
        boolean elsewhere;

        @Override
        public void writeLazy(byte[] value, int offset, int length) {
            found(ByteBuffer.wrap(value, offset, length).slice());
        }

        @Override
        public void writeLazy(ByteBuffer value) {
            found(value.slice());
        }

        private void found(ByteBuffer piece) {
            elsewhere |= buffer != null;
            buffer = piece;
        }

        @Override
        public void write(byte value) {
            elsewhere = true;
        }

        @Override
        public void write(byte[] value, int offset, int length) {
            elsewhere = true;
        }

        @Override
        public void write(ByteBuffer value) {
            elsewhere = true;
        }
    }
}

package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.BlockStore.BlockWrite;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.protocol.Message;
import org.junit.jupiter.api.Test;

class WriteBatcherTest {

    /** The entries submitted, each with the future that stands for its commit. */
    final List<Message> entries = new ArrayList<>();
    final List<CompletableFuture<Void>> commits = new ArrayList<>();
    final WriteBatcher batcher = new WriteBatcher(entry -> {
        CompletableFuture<Void> commit = new CompletableFuture<>();
        entries.add(entry);
        commits.add(commit);
        return commit;
    });

    static ByteBuf block(int fill, int bytes) {
        byte[] data = new byte[bytes];
        java.util.Arrays.fill(data, (byte) fill);
        return Unpooled.wrappedBuffer(data);
    }

    /** The writes an entry carries, as (lba, first byte, length). */
    static List<List<Long>> writesOf(Message entry) {
        ByteBuffer in = entry.getContent().asReadOnlyByteBuffer();
        byte kind = in.get();
        if (kind == VolumeEntry.WRITE) {
            long lba = in.getLong();
            return List.of(List.of(lba, (long) in.get(in.position()), (long) in.remaining()));
        }
        assertEquals(VolumeEntry.WRITES, kind);
        List<List<Long>> writes = new ArrayList<>();
        for (BlockWrite write : VolumeEntry.writes(in)) {
            writes.add(List.of(write.lba(), (long) write.data().getByte(0), (long) write.data().readableBytes()));
        }
        return writes;
    }

    @Test
    void writesGoAloneUntilEntriesAreInFlightThenTheWaitingOnesShareTheNextEntry() {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        List<ByteBuf> data = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ByteBuf buf = block(i, 4096);
            data.add(buf);
            done.add(batcher.write(100L * i, buf));
        }
        assertEquals(WriteBatcher.ENTRIES_IN_FLIGHT, entries.size(), "the first writes went out alone");
        assertEquals(List.of(List.of(0L, 0L, 4096L)), writesOf(entries.get(0)));
        assertEquals(List.of(List.of(100L, 1L, 4096L)), writesOf(entries.get(1)));
        for (int i = 0; i < data.size(); i++) {
            assertEquals(i < 2 ? 0 : 1, data.get(i).refCnt(), "write " + i + "'s data is released once encoded, not before");
        }

        commits.get(0).complete(null);
        assertTrue(done.get(0).isDone() && !done.get(1).isDone());
        assertEquals(3, entries.size(), "the four waiting writes went out together as the first entry completed");
        assertEquals(List.of(List.of(200L, 2L, 4096L), List.of(300L, 3L, 4096L), List.of(400L, 4L, 4096L),
                List.of(500L, 5L, 4096L)), writesOf(entries.get(2)));
        assertTrue(data.stream().allMatch(buf -> buf.refCnt() == 0));
        assertFalse(done.get(2).isDone());

        commits.get(2).complete(null);
        assertTrue(done.subList(2, 6).stream().allMatch(CompletableFuture::isDone));
        assertEquals(1, batcher.inFlight());
        commits.get(1).complete(null);
        assertEquals(0, batcher.inFlight());
        assertEquals(3, entries.size());
    }

    @Test
    void aFailedEntryFailsEachOfItsWritesAndTheWaitingOnesStillGoOut() {
        for (int i = 0; i < WriteBatcher.ENTRIES_IN_FLIGHT; i++) {
            batcher.write(i, block(i, 512));
        }
        CompletableFuture<Void> first = batcher.write(10, block(10, 512));
        CompletableFuture<Void> second = batcher.write(11, block(11, 512));
        commits.get(0).completeExceptionally(new IllegalStateException("no quorum"));
        assertEquals(WriteBatcher.ENTRIES_IN_FLIGHT + 1, entries.size());
        commits.get(WriteBatcher.ENTRIES_IN_FLIGHT).completeExceptionally(new IllegalStateException("no quorum"));
        assertTrue(first.isCompletedExceptionally() && second.isCompletedExceptionally());
    }

    @Test
    void aLargeWriteGoesAloneAndWaitingWritesGoOutOnceTheyFillAnEntry() {
        for (int i = 0; i < WriteBatcher.ENTRIES_IN_FLIGHT; i++) {
            batcher.write(i, block(i, 512));
        }
        batcher.write(1000, block(7, WriteBatcher.BATCH_BYTES));
        assertEquals(WriteBatcher.ENTRIES_IN_FLIGHT + 1, entries.size(), "a write of a whole entry's size does not wait");
        int quarter = WriteBatcher.BATCH_BYTES / 4;
        for (int i = 0; i < 4; i++) {
            batcher.write(2000 + i, block(i, quarter));
        }
        assertEquals(WriteBatcher.ENTRIES_IN_FLIGHT + 2, entries.size(), "four quarters filled an entry");
        assertEquals(4, writesOf(entries.get(entries.size() - 1)).size());
        assertEquals(WriteBatcher.ENTRIES_IN_FLIGHT + 2, batcher.inFlight());
    }
}

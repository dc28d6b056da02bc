package io.raftlun.blockstore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.VolumeException;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeStorageTest {

    static final int BLOCK = 512;
    static final long BLOCKS = 8 * 1024; // 4 MiB

    @TempDir
    Path dir;

    static ByteBuf filled(int blocks, int seed) {
        byte[] bytes = new byte[blocks * BLOCK];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (seed + i * 31);
        }
        return Unpooled.wrappedBuffer(bytes);
    }

    static byte[] bytes(ByteBuf buf) {
        try {
            byte[] out = new byte[buf.readableBytes()];
            buf.getBytes(buf.readerIndex(), out);
            return out;
        } finally {
            buf.release();
        }
    }

    @Test
    void unwrittenBlocksReadAsZerosAndCostNoSpace() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            assertArrayEquals(new byte[16 * BLOCK], bytes(volume.read(100, 16).join()));
            assertEquals(List.of(new LbaStatus(0, BLOCKS, false)), volume.lbaStatus(0, 10).join());
            Path data = Path.of(storage.volume("v").dataPath());
            assertEquals(BLOCKS * BLOCK, Files.size(data));
            Process stat = new ProcessBuilder("stat", "-c", "%b", data.toString()).start();
            long allocatedSectors = Long.parseLong(new String(stat.getInputStream().readAllBytes()).trim());
            assertTrue(allocatedSectors < 64, "the data file is sparse: " + allocatedSectors + " sectors");
        }
    }

    @Test
    void writesSurviveReopenAndSpanChunks() throws Exception {
        ByteBuf expected = filled(600, 7); // crosses three 256-block chunks
        byte[] want = bytes(expected.retainedDuplicate());
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(200, expected, false).join();
            volume.flush().join();
        }
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            assertArrayEquals(want, bytes(volume.read(200, 600).join()));
            assertEquals(List.of(new LbaStatus(0, 200, false), new LbaStatus(200, 600, true),
                    new LbaStatus(800, BLOCKS - 800, false)), volume.lbaStatus(0, 10).join());
            assertEquals(600, storage.store("v").allocatedBlocks());
        }
    }

    @Test
    void aWriteArrivingInPiecesThatSplitBlocksIsStoredWithTheRightChecksums() throws Exception {
        byte[] want = bytes(filled(600, 3)); // crosses three chunks
        io.netty.buffer.CompositeByteBuf pieces = Unpooled.compositeBuffer();
        int[] cuts = {0, 1, 700, 701, 4096, 150_000, 150_001, 600 * BLOCK}; // as TCP segments might split it
        for (int i = 0; i + 1 < cuts.length; i++) {
            ByteBuf piece = Unpooled.directBuffer(cuts[i + 1] - cuts[i]).writeBytes(want, cuts[i], cuts[i + 1] - cuts[i]);
            pieces.addComponent(true, piece);
        }
        int[] crcs = BlockStore.crcsOf(pieces, BLOCK);
        for (int i = 0; i < 600; i++) {
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(want, i * BLOCK, BLOCK);
            assertEquals((int) crc.getValue(), crcs[i], "block " + i);
        }
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(200, pieces, false).join();
            assertArrayEquals(want, bytes(volume.read(200, 600).join()), "read back, each block checked against its CRC");
            assertEquals(0, storage.store("v").scrub(0, Long.MAX_VALUE, true).bad().size());
        }
    }

    @Test
    void aFlushOrAForceUnitAccessWriteSyncsTheStoreAndCountsOnce() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(0, filled(8, 1), false).join();
            long before = storage.counters("v").syncs();
            volume.flush().join();
            assertEquals(before + 1, storage.counters("v").syncs());
            volume.write(8, filled(8, 2), true).join(); // FUA
            assertEquals(before + 2, storage.counters("v").syncs());
        }
    }

    @Test
    void aFlushWhoseDataFsyncFailsFailsWithThatError() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.openVolume("v", BLOCKS, BLOCK);
            BlockStore store = storage.store("v");
            storage.delete("v"); // closes the store's data file, so its fsync fails; the map's still succeeds
            CompletionException failure = assertThrows(CompletionException.class,
                    () -> store.syncAsync(Runnable::run).join());
            assertTrue(failure.getCause() instanceof StorageException, failure.toString());
            assertTrue(failure.getCause().getMessage().contains("fsync of"), failure.getCause().getMessage());
        }
    }

    @Test
    void aFlushAfterTheStorageClosedFailsInsteadOfThrowing() {
        BlockVolume volume;
        try (NodeStorage storage = NodeStorage.open(dir)) {
            volume = storage.openVolume("v", BLOCKS, BLOCK);
        }
        assertThrows(CompletionException.class, () -> volume.flush().join());
    }

    @Test
    void unmapAndWriteSameDeallocateToZeros() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(0, filled(512, 1), false).join();
            volume.unmap(List.of(new Extent(10, 5), new Extent(300, 100))).join();
            volume.writeSame(450, 10, Unpooled.wrappedBuffer(new byte[BLOCK]), true).join();
            byte[] after = bytes(volume.read(0, 512).join());
            for (int block : new int[] {10, 14, 300, 399, 450, 459}) {
                for (int i = 0; i < BLOCK; i++) {
                    assertEquals(0, after[block * BLOCK + i], "block " + block + " reads zeros");
                }
            }
            assertEquals(new LbaStatus(10, 5, false), volume.lbaStatus(10, 1).join().get(0));
            assertEquals(new LbaStatus(15, 285, true), volume.lbaStatus(15, 1).join().get(0));
            assertEquals(512 - 5 - 100 - 10, storage.store("v").allocatedBlocks());

            volume.writeSame(1000, 300, filled(1, 9), false).join();
            byte[] pattern = bytes(filled(1, 9));
            byte[] same = bytes(volume.read(1000, 300).join());
            for (int b = 0; b < 300; b++) {
                for (int i = 0; i < BLOCK; i++) {
                    assertEquals(pattern[i], same[b * BLOCK + i]);
                }
            }
        }
    }

    @Test
    void corruptedBlockIsAMediumErrorNotData() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(40, filled(4, 3), false).join();
            volume.flush().join();
            try (RandomAccessFile file = new RandomAccessFile(storage.volume("v").dataPath(), "rw")) {
                file.seek(42L * BLOCK + 17);
                file.write(0x5a ^ file.readByte());
            }
            CompletionException failure = assertThrows(CompletionException.class, () -> volume.read(40, 4).join());
            assertEquals(VolumeException.Kind.MEDIUM_ERROR, ((VolumeException) failure.getCause()).kind());
            assertEquals(1, storage.counters("v").corruptBlocks());
            assertEquals(BLOCK, bytes(volume.read(40, 1).join()).length, "the blocks around it still read");
        }
    }

    @Test
    void aScrubRepairTakesOnlyACopyOfTheSameWrite() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("healthy", BLOCKS, BLOCK, null);
            storage.create("rotten", BLOCKS, BLOCK, null);
            BlockStore healthy = storage.store("healthy");
            BlockStore rotten = storage.store("rotten");
            healthy.write(7, 300, filled(4, 1));
            rotten.write(8, 300, filled(4, 1)); // the same bytes, but another write
            try (RandomAccessFile file = new RandomAccessFile(storage.volume("rotten").dataPath(), "rw")) {
                file.seek(301L * BLOCK + 5);
                file.write(0x77);
            }
            BlockStore.ScrubStep step = rotten.scrub(0, Long.MAX_VALUE, false);
            assertEquals(-1, step.nextChunk());
            assertEquals(4, step.blocksChecked());
            assertEquals(List.of(new BlockStore.BadBlock(301, 8)), step.bad());
            BlockStore.ChunkImage copy = healthy.changedChunks(-1, 300 / 256, 1).get(0);
            assertEquals(0, rotten.repair(copy), "a chunk at another log index is no source");
            assertEquals(List.of(new BlockStore.BadBlock(301, 8)), rotten.scrub(0, Long.MAX_VALUE, true).bad(),
                    "still corrupt; a recheck is not counted again");
            healthy.write(8, 300, filled(4, 1));
            assertEquals(1, rotten.repair(healthy.changedChunks(-1, 300 / 256, 1).get(0)));
            assertEquals(List.of(), rotten.scrub(0, Long.MAX_VALUE, false).bad());
            assertEquals(1, storage.counters("rotten").scrubFound());
            assertEquals(1, storage.counters("rotten").scrubRepaired());
        }
    }

    /**
     * The block map entries of hot chunks are cached: a chunk replaced by another replica's image,
     * or rewritten, must be checked against its new entry at once, not the cached old one.
     */
    @Test
    void readsCheckAgainstTheEntryOfTheLastChangeOfAHotChunk() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("source", BLOCKS, BLOCK, null);
            storage.create("copy", BLOCKS, BLOCK, null);
            BlockStore source = storage.store("source");
            BlockStore copy = storage.store("copy");
            copy.write(3, 600, filled(8, 1));
            assertArrayEquals(bytes(filled(8, 1)), bytes(copy.read(600, 8)));
            assertTrue(copy.hot(600, 8), "read and written lately");
            source.write(5, 600, filled(8, 2));
            copy.installChunk(source.changedChunks(4, 600 / 256, 1).get(0));
            assertArrayEquals(bytes(filled(8, 2)), bytes(copy.read(600, 8)), "the installed chunk reads back");
            copy.unmap(6, List.of(new Extent(600, 8)));
            assertArrayEquals(new byte[8 * BLOCK], bytes(copy.read(600, 8)), "unmapped: zeros");
            assertFalse(copy.hot(BLOCKS - 8, 8), "never touched");
        }
    }

    @Test
    void replayedLogEntriesAreSkipped() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("v", BLOCKS, BLOCK, null);
            BlockStore store = storage.store("v");
            ByteBuf first = filled(1, 1);
            ByteBuf second = filled(1, 2);
            byte[] secondBytes = bytes(second.retainedDuplicate());
            store.write(5, 0, first);
            store.write(6, 0, second);
            store.write(5, 0, first); // replay of an older entry after a crash
            assertArrayEquals(secondBytes, bytes(store.read(0, 1)));
            first.release();
            second.release();
        }
    }

    @Test
    void compareAndWriteWritesOnlyOnMatch() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(7, filled(2, 4), false).join();
            assertEquals(-1L, volume.compareAndWrite(7, filled(2, 4), filled(2, 5), true).join());
            long offset = volume.compareAndWrite(7, filled(2, 4), filled(2, 6), false).join();
            assertTrue(offset >= 0);
            assertArrayEquals(bytes(filled(2, 5)), bytes(volume.read(7, 2).join()));
        }
    }

    @Test
    void outOfRangeIsRefused() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            CompletionException failure = assertThrows(CompletionException.class,
                    () -> volume.write(BLOCKS - 1, filled(2, 0), false).join());
            assertEquals(VolumeException.Kind.OUT_OF_RANGE, ((VolumeException) failure.getCause()).kind());
        }
    }

    @Test
    void secondNodeOnTheSameDirectoryIsRefused() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            StorageException refused = assertThrows(StorageException.class, () -> NodeStorage.open(dir));
            assertTrue(refused.getMessage().contains("in use"), refused.getMessage());
        }
    }

    @Test
    void reservationsPersistOnlyWithAptpl() {
        String nexus = "iqn.i,i,0x1|iqn.t,t,1";
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("kept", BLOCKS, BLOCK, null);
            storage.create("dropped", BLOCKS, BLOCK, null);
            register(storage.openVolume("kept"), nexus, true);
            register(storage.openVolume("dropped"), nexus, false);
        }
        try (NodeStorage storage = NodeStorage.open(dir)) {
            assertEquals(1, storage.openVolume("kept").reservations().view().registrations().size());
            assertEquals(0, storage.openVolume("dropped").reservations().view().registrations().size());
        }
    }

    private static void register(BlockVolume volume, String nexus, boolean aptpl) {
        ReservationCommand register = new ReservationCommand(ReservationCommand.Action.REGISTER, nexus, "iqn.i",
                1, 0, 0x1234, 0, 0, aptpl, false);
        assertEquals(ReservationOutcome.Result.GOOD, volume.reserve(register).join().result());
    }

    /**
     * A kill -9 leaves the files as they are in the operating system's cache: a copy of the data
     * directory taken while the node runs. RocksDB's memory is lost with the process; the map's
     * journal brings back every change (and without the journal, the copy has none of them).
     */
    @Test
    void theBlockMapsJournalBringsBackWhatAKilledProcessHadWritten() throws Exception {
        Path node = dir.resolve("node");
        Path killed = dir.resolve("killed");
        Path killedWithoutJournal = dir.resolve("killed-without-journal");
        byte[] want = bytes(filled(600, 3));
        try (NodeStorage storage = NodeStorage.open(node)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(200, filled(600, 3), false).join(); // three chunks
            volume.write(7000, filled(8, 9), false).join();
            volume.unmap(List.of(new Extent(7000, 8))).join();
            copyTree(node, killed);
            copyTree(node, killedWithoutJournal);
            Files.delete(killedWithoutJournal.resolve("blockmap").resolve(BlockMap.JOURNAL_FILE));
        }
        try (NodeStorage storage = NodeStorage.open(killed)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            assertArrayEquals(want, bytes(volume.read(200, 600).join()), "read back, checked against the map's CRCs");
            assertEquals(List.of(new LbaStatus(0, 200, false), new LbaStatus(200, 600, true),
                    new LbaStatus(800, BLOCKS - 800, false)), volume.lbaStatus(0, 10).join());
        }
        try (NodeStorage storage = NodeStorage.open(killedWithoutJournal)) {
            assertEquals(List.of(), storage.volumes(), "without the journal, not even the volume's record");
        }
    }

    /** Copies a directory tree, as a process killed at this moment leaves it on disk. */
    static void copyTree(Path from, Path to) throws java.io.IOException {
        try (var paths = Files.walk(from)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target);
                }
            }
        }
    }

    @Test
    void deleteRemovesDataAndMap() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            BlockVolume volume = storage.openVolume("v", BLOCKS, BLOCK);
            volume.write(0, filled(8, 1), false).join();
            Path data = Path.of(storage.volume("v").dataPath());
            storage.delete("v");
            assertTrue(Files.notExists(data));
            assertEquals(List.of(), storage.volumes());
            BlockVolume again = storage.openVolume("v", BLOCKS, BLOCK);
            assertArrayEquals(new byte[8 * BLOCK], bytes(again.read(0, 8).join()));
        }
    }

    @Test
    void oneLogEntryUnmappingSeveralExtentsOfAChunkUnmapsThemAllAndItsReplayChangesNothing() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("r", BLOCKS, BLOCK, null);
            BlockStore store = storage.store("r");
            ByteBuf data = filled(16, 3);
            store.write(4, 0, data);
            data.release();
            List<Extent> extents = List.of(new Extent(1, 1), new Extent(3, 2), new Extent(9, 1));
            store.unmap(5, extents);
            store.unmap(5, extents); // replayed after a crash
            ByteBuf again = filled(16, 3);
            store.write(4, 0, again); // an older entry replayed: the chunk has moved past it
            again.release();
            assertEquals(List.of(new LbaStatus(0, 1, true), new LbaStatus(1, 1, false), new LbaStatus(2, 1, true),
                    new LbaStatus(3, 2, false), new LbaStatus(5, 4, true), new LbaStatus(9, 1, false),
                    new LbaStatus(10, 6, true)), store.lbaStatus(0, 7));
        }
    }

    @Test
    void oneLogEntryOfSeveralWritesAppliesThemInOrderAndItsReplayChangesNothing() {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("b", BLOCKS, BLOCK, null);
            BlockStore store = storage.store("b");
            ByteBuf across = filled(300, 1); // blocks 100..399: two chunks
            ByteBuf over = filled(8, 2);     // blocks 250..257, over the first, later in the entry
            ByteBuf apart = filled(4, 3);    // blocks 2000..2003
            store.write(9, List.of(new BlockStore.BlockWrite(100, across), new BlockStore.BlockWrite(250, over),
                    new BlockStore.BlockWrite(2000, apart)));
            byte[] want = bytes(across.retainedDuplicate());
            System.arraycopy(bytes(over.retainedDuplicate()), 0, want, 150 * BLOCK, 8 * BLOCK);
            assertArrayEquals(want, bytes(store.read(100, 300)), "the later write of the entry wins where they overlap");
            assertArrayEquals(bytes(apart.retainedDuplicate()), bytes(store.read(2000, 4)));

            ByteBuf newer = filled(1, 4);
            store.write(10, 255, newer);
            store.write(9, List.of(new BlockStore.BlockWrite(100, across), new BlockStore.BlockWrite(250, over),
                    new BlockStore.BlockWrite(2000, apart))); // replayed after a crash
            System.arraycopy(bytes(newer.retainedDuplicate()), 0, want, 155 * BLOCK, BLOCK);
            assertArrayEquals(want, bytes(store.read(100, 300)), "the replay leaves the newer write in place");
            assertEquals(304, store.allocatedBlocks());
            for (ByteBuf buf : List.of(across, over, apart, newer)) {
                buf.release();
            }
        }
    }

    @Test
    void theAppliedIndexIsTheHigherOfTheLastNoteAndTheLastCheckpoint() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir)) {
            storage.create("v", BLOCKS, BLOCK, null);
            BlockStore store = storage.store("v");
            assertEquals(-1, store.appliedIndex(), "nothing applied yet");
            ByteBuf data = filled(8, 1);
            store.write(5, 0, data);
            data.release();
            store.noteApplied(5);
            assertEquals(5, store.appliedIndex());
            store.checkpoint(2, 9, new byte[0]); // a catch-up's checkpoint, past the last note
            assertEquals(9, store.appliedIndex());
            store.noteApplied(12);
        }
        try (NodeStorage storage = NodeStorage.open(dir)) {
            assertEquals(12, storage.store("v").appliedIndex(), "the note outlives the process");
        }
    }
}

package io.raftlun.blockstore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockMapTest {

    static final long VOLUME = 7;
    static final int CHUNKS = 1000;

    @TempDir
    Path dir;

    /** Chunk {@code chunk}'s entry as the {@code round}-th write over it leaves it. */
    static ChunkEntry entry(int chunk, int round) {
        ChunkEntry entry = new ChunkEntry();
        entry.lastIndex(round * 100_000L + chunk);
        for (int block = 0; block < ChunkEntry.BLOCKS; block += 3) {
            entry.allocate(block, chunk * 31 + round * 7 + block);
        }
        return entry;
    }

    /**
     * A kill -9 after a background checkpoint: a copy of the directory while the map is open, taken
     * while no checkpoint runs. Chunks changed only before the checkpoint come back from RocksDB's
     * files, which the checkpoint flushed before it moved the journal's replay start past them;
     * the last changes come back from the journal.
     */
    @Test
    void changesSurviveACrashAfterABackgroundCheckpoint() throws Exception {
        Path live = dir.resolve("live");
        Path killed = dir.resolve("killed");
        int last = 1;
        try (BlockMap map = BlockMap.open(live)) {
            writeRound(map, 0, 1); // chunks 0..999, never changed again
            long used = idleJournalUsed(map);
            boolean checkpointed = false;
            while (!checkpointed) { // chunks 1000..1999 over and over, until the replay start moves
                assertTrue(last < 100, "no checkpoint after " + last + " rounds");
                writeRound(map, CHUNKS, ++last);
                long now = idleJournalUsed(map);
                checkpointed = now < used;
                used = now;
            }
            while (used == 0) { // the checkpoint took everything: more, for the journal to replay
                writeRound(map, CHUNKS, ++last);
                used = idleJournalUsed(map);
            }
            NodeStorageTest.copyTree(live, killed);
        }
        try (BlockMap map = BlockMap.open(killed)) {
            for (int chunk = 0; chunk < CHUNKS; chunk++) {
                assertArrayEquals(entry(chunk, 1).encode(), encoded(map.chunk(VOLUME, chunk)), "chunk " + chunk);
                assertArrayEquals(entry(CHUNKS + chunk, last).encode(), encoded(map.chunk(VOLUME, CHUNKS + chunk)),
                        "chunk " + (CHUNKS + chunk));
            }
        }
    }

    private static byte[] encoded(ChunkEntry entry) {
        return entry == null ? null : entry.encode(); // null: the chunk is missing
    }

    /** Changes chunks {@code first} to {@code first + CHUNKS - 1} as the given round does. */
    private static void writeRound(BlockMap map, int first, int round) {
        for (int chunk = first; chunk < first + CHUNKS; chunk++) {
            map.putChunk(VOLUME, chunk, entry(chunk, round));
        }
    }

    /** The journal's bytes to replay, once no checkpoint is queued or running. */
    private static long idleJournalUsed(BlockMap map) throws InterruptedException {
        BlockMap.JournalState state = map.journalState();
        for (int waited = 0; state.checkpointing(); waited++) {
            assertTrue(waited < 600, "a checkpoint still running after 60 s");
            Thread.sleep(100);
            state = map.journalState();
        }
        return state.used();
    }
}

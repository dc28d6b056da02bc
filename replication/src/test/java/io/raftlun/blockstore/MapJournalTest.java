package io.raftlun.blockstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal as a crash leaves it: closing a journal does not checkpoint, so opening it again
 * replays as after a kill -9.
 */
class MapJournalTest {

    static final long CAPACITY = 4096;

    @TempDir
    Path dir;

    Path path() {
        return dir.resolve("journal");
    }

    static byte[] record(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Opens the journal, returns what it replayed, and checkpoints at its end as the map does. */
    List<String> reopen(List<MapJournal> opened) {
        List<String> replayed = new ArrayList<>();
        MapJournal journal = MapJournal.open(path(), CAPACITY, r -> replayed.add(new String(r, StandardCharsets.UTF_8)));
        journal.checkpoint(journal.end());
        opened.add(journal);
        return replayed;
    }

    @Test
    void recordsAreReplayedInOrderUntilACheckpoint() {
        List<MapJournal> opened = new ArrayList<>();
        assertEquals(List.of(), reopen(opened));
        MapJournal journal = opened.get(0);
        journal.append(record("a"));
        journal.append(record("b"));
        journal.close();
        assertEquals(List.of("a", "b"), reopen(opened), "replayed after a crash");
        journal = opened.get(1);
        journal.append(record("c"));
        journal.checkpoint(journal.end());
        journal.append(record("d"));
        journal.close();
        assertEquals(List.of("d"), reopen(opened), "only what came after the checkpoint");
        opened.get(2).close();
        assertEquals(List.of(), reopen(opened), "the open's own checkpoint: nothing twice");
        opened.get(3).close();
    }

    @Test
    void recordsWrapAroundTheRingsEnd() {
        List<MapJournal> opened = new ArrayList<>();
        reopen(opened);
        MapJournal journal = opened.get(0);
        List<String> sinceCheckpoint = new ArrayList<>();
        for (int i = 0; i < 100; i++) { // about 25 laps of the ring
            if (journal.used() > CAPACITY / 2) {
                journal.checkpoint(journal.end());
                sinceCheckpoint.clear();
            }
            String text = "record " + i + " " + "x".repeat(i % 37 * 13);
            journal.append(record(text));
            sinceCheckpoint.add(text);
        }
        journal.close();
        assertEquals(sinceCheckpoint, reopen(opened));
        opened.get(1).close();
    }

    @Test
    void aTornRecordEndsReplayAndWhatFollowedItIsNeverReplayedLater() throws Exception {
        List<MapJournal> opened = new ArrayList<>();
        reopen(opened);
        MapJournal journal = opened.get(0);
        journal.append(record("first"));
        long second = journal.end().position();
        journal.append(record("second"));
        journal.append(record("third"));
        journal.close();
        try (RandomAccessFile file = new RandomAccessFile(path().toFile(), "rw")) {
            long offset = MapJournal.HEADER_BYTES + (second + MapJournal.RECORD_OVERHEAD) % CAPACITY;
            file.seek(offset);
            int b = file.read();
            file.seek(offset);
            file.write(b ^ 0x40); // a byte of "second" as a power loss may leave it
        }
        assertEquals(List.of("first"), reopen(opened));
        journal = opened.get(1);
        // a new record exactly where and as long as the torn one: "third" is back in line behind it
        journal.append(record("SECOND"));
        journal.close();
        assertEquals(List.of("SECOND"), reopen(opened), "the record of the earlier run is not taken as new");
        opened.get(2).close();
    }

    @Test
    void aTornHeaderSlotLeavesTheOtherOne() throws Exception {
        List<MapJournal> opened = new ArrayList<>();
        reopen(opened);
        MapJournal journal = opened.get(0);
        journal.append(record("a"));
        journal.checkpoint(journal.end()); // the newer slot: replay after "a"
        journal.append(record("b"));
        journal.close();
        byte[] file = Files.readAllBytes(path());
        // the slot written last holds the highest generation; tear it
        int newer = newerSlot(file);
        try (RandomAccessFile raf = new RandomAccessFile(path().toFile(), "rw")) {
            raf.seek(newer * 512L + 10);
            raf.write(file[newer * 512 + 10] ^ 1);
        }
        assertEquals(List.of("a", "b"), reopen(opened), "replayed from the older checkpoint");
        opened.get(1).close();
    }

    private static int newerSlot(byte[] file) {
        long first = java.nio.ByteBuffer.wrap(file, 4, 8).getLong();
        long second = java.nio.ByteBuffer.wrap(file, 512 + 4, 8).getLong();
        return first > second ? 0 : 1;
    }

    @Test
    void aJournalKeepsTheSizeItWasCreatedWith() {
        List<MapJournal> opened = new ArrayList<>();
        reopen(opened);
        MapJournal journal = opened.get(0);
        for (int i = 0; i < 10; i++) { // past the ring's end once
            journal.checkpoint(journal.end());
            journal.append(new byte[500 + i]);
        }
        journal.close();
        List<Integer> lengths = new ArrayList<>();
        MapJournal larger = MapJournal.open(path(), 4 * CAPACITY, r -> lengths.add(r.length));
        assertEquals(List.of(509), lengths, "read at the positions it was written at");
        assertEquals(CAPACITY, larger.capacity());
        larger.close();
    }

    @Test
    void aJournalWhoseHeaderNeverReachedTheDiskIsCreatedAgain() throws Exception {
        Files.write(path(), new byte[100]); // a power loss right after the file was created
        List<MapJournal> opened = new ArrayList<>();
        assertEquals(List.of(), reopen(opened));
        opened.get(0).append(record("a"));
        opened.get(0).close();
        assertEquals(List.of("a"), reopen(opened));
        opened.get(1).close();
    }

    @Test
    void aJournalWhoseCreationWasCutShortIsCompletedEmpty() throws Exception {
        MapJournal.open(path(), CAPACITY, r -> { }).close();
        try (RandomAccessFile file = new RandomAccessFile(path().toFile(), "rw")) {
            file.setLength(MapJournal.HEADER_BYTES + 100); // a crash while the ring was being filled
        }
        List<MapJournal> opened = new ArrayList<>();
        assertEquals(List.of(), reopen(opened));
        assertEquals(MapJournal.HEADER_BYTES + CAPACITY, Files.size(path()));
        MapJournal journal = opened.get(0);
        journal.append(record("a"));
        journal.close();
        assertEquals(List.of("a"), reopen(opened));
        opened.get(1).close();
    }

    @Test
    void aFullRingWaitsForACheckpoint() throws Exception {
        List<MapJournal> opened = new ArrayList<>();
        reopen(opened);
        MapJournal journal = opened.get(0);
        byte[] big = new byte[1000];
        for (int i = 0; i < 4; i++) {
            journal.append(big);
        }
        MapJournal.Mark end = journal.end();
        CompletableFuture<Long> fifth = CompletableFuture.supplyAsync(() -> journal.append(big));
        assertThrows(TimeoutException.class, () -> fifth.get(200, TimeUnit.MILLISECONDS), "no room: it waits");
        journal.checkpoint(end);
        assertEquals(end.position() + MapJournal.RECORD_OVERHEAD + big.length, fifth.get(10, TimeUnit.SECONDS));
        journal.close();
    }
}

package io.raftlun.blockstore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The block map's write-ahead log: a ring of fixed size in one file, written over in place.
 * RocksDB's own log grows its file with every write, so each fsync of it also commits the file
 * system's journal (the new file size): a 4 KiB write followed by the fsyncs of a data file and of
 * such a log took 280-300 µs on this machine's disk, against 140-165 µs with a log written over in
 * place, as long as the data file's fsync alone. The map writes to RocksDB without its log, and
 * this ring holds every change made since RocksDB last flushed its memory to its files.
 *
 * <p>Layout: a header of two slots, each naming where replay starts (position and sequence
 * number) and the ring's size; the newer valid slot counts, so a torn header write leaves the other. Then the ring:
 * records of {@code [length][sequence][payload][CRC32C]}, at logical positions that only grow,
 * placed at {@code HEADER_BYTES + position % capacity} (a record may wrap). Replay reads records
 * with consecutive sequence numbers and a valid CRC from the header's position, and stops at the
 * first that is not: a record torn or never written, or one left from an earlier lap. Each open
 * continues past every sequence number the ring may still hold, so a record left by an earlier
 * run after a torn one is never taken for a new one.
 *
 * <p>Callers order appends with the map's writes (see {@link BlockMap}); {@link #checkpoint} moves
 * the replay start once RocksDB holds the changes before it in its files. Appends wait while the
 * ring is full, which happens only when checkpoints fall behind.
 */
final class MapJournal implements AutoCloseable {

    static final int HEADER_BYTES = 4096;
    private static final int SLOT_BYTES = 512;
    private static final int SLOT_CONTENT_BYTES = 4 + 8 + 8 + 8 + 8; // magic, generation, capacity, position, sequence
    private static final int MAGIC = 0x524c4d4a;
    /** Length, sequence number, CRC. */
    static final int RECORD_OVERHEAD = 4 + 8 + 4;
    /** How long an append waits for room before the map fails the change: only a failing checkpoint takes that long. */
    private static final long FULL_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);

    private final Path path;
    private final FileChannel file;
    private long capacity; // set once, at open

    /** A record being written, reused (guarded by this). */
    private ByteBuffer record = ByteBuffer.allocate(4096);

    // Guarded by this.
    private long nextPosition;
    private long nextSequence;
    private long replayFrom;
    private boolean closed;

    // Only the checkpointing thread (one at a time, see BlockMap) writes headers.
    private long generation;

    /** A place in the ring: a record's position and the sequence number it has there. */
    record Mark(long position, long sequence) {
    }

    /** One header slot: the newest by generation counts. */
    private record Header(long generation, long capacity, Mark replayFrom) {
    }

    private MapJournal(Path path, FileChannel file, long capacity) {
        this.path = path;
        this.file = file;
        this.capacity = capacity;
    }

    /**
     * Opens the journal at {@code path}, creating it with room for {@code capacity} bytes of records
     * when it does not exist (an existing journal keeps the size it was created with), and hands
     * every record to replay to {@code replay}, in order. The caller then makes the replayed changes
     * durable and calls {@link #checkpoint} before it appends.
     */
    static MapJournal open(Path path, long capacity, Consumer<byte[]> replay) {
        try {
            boolean created = !Files.exists(path);
            FileChannel file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            MapJournal journal = new MapJournal(path, file, capacity);
            try {
                if (created || file.size() <= HEADER_BYTES && !journal.hasValidHeader()) {
                    journal.create(); // new, or its creation was cut short before anything was appended
                } else {
                    journal.replay(replay);
                }
                return journal;
            } catch (RuntimeException | IOException e) {
                file.close();
                throw e;
            }
        } catch (IOException e) {
            throw new StorageException("block map journal " + path + ": " + e.getMessage(), e);
        }
    }

    private void create() throws IOException {
        nextSequence = 1;
        writeHeader(0, 1); // first, so a crash while the ring is filled leaves a valid, empty journal
        file.force(true);
        fillWithZeros();
    }

    /**
     * Writes the ring out in full, once (or, after a crash during its creation, the rest of it), so
     * that later writes change no file system metadata: an fsync of them is then one flush of the
     * device, not also a commit of the file system's journal. No record lies beyond the end of a
     * file whose filling was cut short: appends start only once it is done.
     */
    private void fillWithZeros() throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
        long end = HEADER_BYTES + capacity;
        long offset = Math.max(HEADER_BYTES, file.size());
        while (offset < end) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), end - offset));
            offset += file.write(zeros, offset);
        }
        file.force(true);
    }

    private boolean hasValidHeader() throws IOException {
        return readSlot(0) != null || readSlot(1) != null;
    }

    private void replay(Consumer<byte[]> replay) throws IOException {
        Header header = null;
        for (int slot = 0; slot < 2; slot++) {
            Header candidate = readSlot(slot);
            if (candidate != null && (header == null || candidate.generation() > header.generation())) {
                header = candidate;
            }
        }
        if (header == null) {
            throw new StorageException("block map journal " + path + ": neither header slot is valid");
        }
        generation = header.generation();
        capacity = header.capacity();
        if (file.size() < HEADER_BYTES + capacity) {
            fillWithZeros();
        }
        long start = header.replayFrom().position();
        long position = start;
        long sequence = header.replayFrom().sequence();
        ByteBuffer head = ByteBuffer.allocate(4 + 8);
        while (position - start + RECORD_OVERHEAD <= capacity) {
            readFully(head.clear(), position);
            int length = head.getInt(0);
            if (length <= 0 || length > capacity - RECORD_OVERHEAD - (position - start)
                    || head.getLong(4) != sequence) {
                break;
            }
            ByteBuffer rest = ByteBuffer.allocate(length + 4);
            readFully(rest, position + 4 + 8);
            byte[] payload = new byte[length];
            rest.flip().get(payload);
            if (rest.getInt() != crc(head.array(), payload)) {
                break;
            }
            replay.accept(payload);
            position += RECORD_OVERHEAD + length;
            sequence++;
        }
        replayFrom = start; // until the caller's checkpoint: the replayed changes are not yet durable
        nextPosition = position;
        // Past every sequence number a record in the ring may carry: fewer records fit than bytes.
        nextSequence = sequence + capacity;
    }

    /** Appends one record; waits while the ring has no room for it. Returns the position after it. */
    synchronized long append(byte[] payload) {
        long size = RECORD_OVERHEAD + (long) payload.length;
        if (size > capacity) {
            throw new StorageException("block map change of " + payload.length + " bytes exceeds the journal");
        }
        boolean interrupted = false;
        long deadline = System.nanoTime() + FULL_WAIT_NANOS;
        while (!closed && nextPosition + size - replayFrom > capacity) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new StorageException("block map journal " + path + " is full: checkpoints are failing");
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                interrupted = true; // the change must be journaled before the map has it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (closed) {
            throw new StorageException("block map journal " + path + " is closed");
        }
        if (record.capacity() < size) {
            record = ByteBuffer.allocate((int) Math.max(size, 2L * record.capacity()));
        }
        record.clear();
        record.putInt(payload.length).putLong(nextSequence).put(payload);
        record.putInt(crc(record.array(), payload));
        try {
            writeFully(record.flip(), nextPosition);
        } catch (IOException e) {
            throw new StorageException("block map journal " + path + ": write failed: " + e.getMessage(), e);
        }
        nextPosition += size;
        nextSequence++;
        return nextPosition;
    }

    /** Bytes of records that replay would read now. */
    synchronized long used() {
        return nextPosition - replayFrom;
    }

    long capacity() {
        return capacity;
    }

    /** Where the next record goes, with its sequence number: the start of a checkpoint. */
    synchronized Mark end() {
        return new Mark(nextPosition, nextSequence);
    }

    /** Makes every appended record durable. */
    void sync() {
        try {
            file.force(false);
        } catch (IOException e) {
            throw new StorageException("block map journal " + path + ": fsync failed: " + e.getMessage(), e);
        }
    }

    /**
     * Starts replay at {@code end} (from {@link #end()}), durably: call it once every change
     * appended before that point is durable elsewhere. Called by one thread at a time.
     */
    void checkpoint(Mark end) {
        try {
            writeHeader(end.position(), end.sequence());
            file.force(false);
        } catch (IOException e) {
            throw new StorageException("block map journal " + path + ": checkpoint failed: " + e.getMessage(), e);
        }
        synchronized (this) {
            replayFrom = end.position();
            notifyAll();
        }
    }

    private void writeHeader(long position, long sequence) throws IOException {
        generation++;
        ByteBuffer slot = ByteBuffer.allocate(SLOT_CONTENT_BYTES + 4);
        slot.putInt(MAGIC).putLong(generation).putLong(capacity).putLong(position).putLong(sequence);
        CRC32C crc = new CRC32C();
        crc.update(slot.array(), 0, SLOT_CONTENT_BYTES);
        slot.putInt((int) crc.getValue());
        writeFully(slot.flip(), -HEADER_BYTES + (generation % 2) * SLOT_BYTES);
    }

    /** A header slot, or null when it is not valid. */
    private Header readSlot(int slot) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(SLOT_CONTENT_BYTES + 4);
        if (file.size() < (long) slot * SLOT_BYTES + buffer.capacity()) {
            return null;
        }
        readFully(buffer, -HEADER_BYTES + (long) slot * SLOT_BYTES);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, SLOT_CONTENT_BYTES);
        if (buffer.getInt(0) != MAGIC || buffer.getInt(SLOT_CONTENT_BYTES) != (int) crc.getValue()) {
            return null;
        }
        return new Header(buffer.getLong(4), buffer.getLong(12), new Mark(buffer.getLong(20), buffer.getLong(28)));
    }

    private static int crc(byte[] head, byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(head, 0, 4 + 8);
        crc.update(payload);
        return (int) crc.getValue();
    }

    /** A positional read or write of a file channel. */
    @FunctionalInterface
    private interface Transfer {
        int at(ByteBuffer buffer, long offset) throws IOException;
    }

    private void writeFully(ByteBuffer buffer, long position) throws IOException {
        transferFully(buffer, position, file::write);
    }

    private void readFully(ByteBuffer buffer, long position) throws IOException {
        transferFully(buffer, position, file::read);
    }

    /**
     * Moves the buffer's remaining bytes at a logical ring position, wrapping at the ring's end;
     * negative positions address the header ({@code -HEADER_BYTES} is the file's start).
     */
    private void transferFully(ByteBuffer buffer, long position, Transfer transfer) throws IOException {
        while (buffer.hasRemaining()) {
            long offset = fileOffset(position);
            int limit = buffer.limit();
            if (position >= 0) {
                buffer.limit((int) Math.min(limit, buffer.position() + (HEADER_BYTES + capacity - offset)));
            }
            int moved = transfer.at(buffer, offset);
            buffer.limit(limit);
            if (moved < 0) {
                throw new IOException("unexpected end of file at " + offset);
            }
            position += moved;
        }
    }

    private long fileOffset(long position) {
        return position < 0 ? HEADER_BYTES + position : HEADER_BYTES + position % capacity;
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            file.close();
        } catch (IOException e) {
            // nothing appended since the last sync is owed to anyone
        }
    }
}

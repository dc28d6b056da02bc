package io.raftlun.blockstore;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.NativeLibraryLoader;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's RocksDB: the block map of every local volume, keyed by (volume id, chunk), plus the
 * volumes' records and small per-volume state (applied index, reservations).
 *
 * <p>Every change is appended to the map's own journal ({@link MapJournal}) without fsync, then
 * written to RocksDB without RocksDB's log; {@link #sync()} makes everything written so far durable
 * (an fsync of the journal). A process crash (kill -9) loses nothing that was written, because the
 * journal is in the operating system's cache and is replayed at the next open; a power loss loses
 * what came after the last sync. Once the journal is half full, a checkpoint flushes RocksDB's
 * memory to its files and moves the journal's replay start past what they now hold.
 */
final class BlockMap implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BlockMap.class);
    private static boolean nativeLibraryLoaded;

    private static final byte[] CHUNKS = "chunks".getBytes(StandardCharsets.UTF_8);
    private static final byte[] VOLUMES = "volumes".getBytes(StandardCharsets.UTF_8);

    private final RocksDB db;
    private final DBOptions options;
    private final ColumnFamilyOptions columnOptions;
    private final ColumnFamilyHandle chunks;
    private final ColumnFamilyHandle volumes;
    private final ColumnFamilyHandle defaultFamily;
    private final List<ColumnFamilyHandle> families;
    /** RocksDB's own log is off: the journal is the map's log. */
    private final WriteOptions writeOptions = new WriteOptions().setDisableWAL(true);
    private MapJournal journal;
    private final ExecutorService checkpointer = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "blockmap-checkpoint");
        thread.setDaemon(true);
        return thread;
    });
    /** Guarded by the journal: a checkpoint is queued or running. */
    private boolean checkpointing;

    /** The journal's size: a checkpoint starts when half of it holds changes. */
    static final long JOURNAL_BYTES = 64L << 20;

    private BlockMap(RocksDB db, DBOptions options, ColumnFamilyOptions columnOptions,
                     List<ColumnFamilyHandle> handles) {
        this.db = db;
        this.options = options;
        this.columnOptions = columnOptions;
        this.families = List.copyOf(handles);
        this.defaultFamily = handles.get(0);
        this.chunks = handles.get(1);
        this.volumes = handles.get(2);
    }

    /**
     * Loads RocksDB's native code, extracted from its jar into {@code directory} under a fixed name
     * that each start replaces. Left to itself, RocksDB extracts it into the temporary directory
     * under a new name at every start and removes it only at a clean exit: each node killed or
     * crashed left 17 MB there. Call it before anything else of RocksDB's; the first call in a
     * process decides. Where {@code directory} cannot hold it (a file system mounted noexec),
     * RocksDB's own way is used.
     */
    static synchronized void loadNativeLibrary(Path directory) {
        if (nativeLibraryLoaded) {
            return;
        }
        try {
            Files.createDirectories(directory);
            NativeLibraryLoader.getInstance().loadLibrary(directory.toString());
        } catch (java.io.IOException | RuntimeException | UnsatisfiedLinkError e) {
            log.warn("cannot load RocksDB's native library from {} ({}); extracting it to the temporary directory",
                    directory, e.toString());
            RocksDB.loadLibrary();
        }
        nativeLibraryLoaded = true;
    }

    static BlockMap open(Path directory) {
        try {
            Files.createDirectories(directory);
            DBOptions options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true)
                    .setKeepLogFileNum(4).setMaxTotalWalSize(64L << 20);
            ColumnFamilyOptions columnOptions = new ColumnFamilyOptions();
            List<ColumnFamilyDescriptor> families = List.of(
                    new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, columnOptions),
                    new ColumnFamilyDescriptor(CHUNKS, columnOptions),
                    new ColumnFamilyDescriptor(VOLUMES, columnOptions));
            List<ColumnFamilyHandle> handles = new ArrayList<>();
            RocksDB db = RocksDB.open(options, directory.toString(), families, handles);
            BlockMap map = new BlockMap(db, options, columnOptions, handles);
            try {
                map.journal = MapJournal.open(directory.resolve(JOURNAL_FILE), JOURNAL_BYTES,
                        record -> map.writeToRocksDb(MapChange.decode(record)));
                map.checkpoint(); // the replayed changes into RocksDB's files, and a fresh start
            } catch (RuntimeException e) {
                map.close();
                throw e;
            }
            return map;
        } catch (RocksDBException e) {
            throw new StorageException("cannot open the block map in " + directory + ": " + e.getMessage(), e);
        } catch (java.io.IOException e) {
            throw new StorageException("cannot create " + directory + ": " + e.getMessage(), e);
        }
    }

    /** The journal's file, in RocksDB's directory: the block map stays one directory. */
    static final String JOURNAL_FILE = "raftlun-map.journal";

    static byte[] chunkKey(long volumeId, long chunk) {
        return ByteBuffer.allocate(16).putLong(volumeId).putLong(chunk).array();
    }

    ChunkEntry chunk(long volumeId, long chunk) {
        try {
            byte[] value = db.get(chunks, chunkKey(volumeId, chunk));
            return value == null ? null : ChunkEntry.decode(value);
        } catch (RocksDBException e) {
            throw new StorageException("block map read failed: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the chunk's new state: a put, or a delete once nothing in it is allocated
     * and no log index needs remembering. A replicated volume keeps emptied chunks as tombstones
     * with their index, so a replica catching up learns that the chunk was unmapped. Returns false
     * for a delete.
     */
    boolean putChunk(long volumeId, long chunk, ChunkEntry entry) {
        MapChange change = new MapChange();
        if (entry.empty() && entry.lastIndex() == 0) {
            change.delete(MapChange.CHUNKS, chunkKey(volumeId, chunk));
            write(change);
            return false;
        }
        change.put(MapChange.CHUNKS, chunkKey(volumeId, chunk), entry.encode());
        write(change);
        return true;
    }

    /** Adds the setting (or, for a null value, the removal) of a volume value to {@code change}. */
    static void stageValue(MapChange change, String key, byte[] value) {
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        if (value == null) {
            change.delete(MapChange.VOLUMES, keyBytes);
        } else {
            change.put(MapChange.VOLUMES, keyBytes, value);
        }
    }

    /** Applies {@code change} as a whole: journaled, then written to RocksDB, in one order for both. */
    void write(MapChange change) {
        byte[] record = change.encode();
        synchronized (journal) {
            journal.append(record);
            writeToRocksDb(change);
            if (!checkpointing && journal.used() > journal.capacity() / 2) {
                checkpointing = true;
                checkpointer.execute(this::checkpointInBackground);
            }
        }
    }

    private void writeToRocksDb(MapChange change) {
        try {
            if (change.size() == 1) {
                change.forEach(this::writeOne); // one call: a write batch took four
                return;
            }
            try (WriteBatch batch = new WriteBatch()) {
                change.forEach((kind, family, key, value) -> {
                    try {
                        switch (kind) {
                            case MapChange.PUT -> batch.put(families.get(family), key, value);
                            case MapChange.DELETE -> batch.delete(families.get(family), key);
                            default -> batch.deleteRange(families.get(family), key, value);
                        }
                    } catch (RocksDBException e) {
                        throw new StorageException("block map update failed: " + e.getMessage(), e);
                    }
                });
                db.write(writeOptions, batch);
            }
        } catch (RocksDBException e) {
            throw new StorageException("block map write failed: " + e.getMessage(), e);
        }
    }

    private void writeOne(byte kind, int family, byte[] key, byte[] value) {
        try {
            switch (kind) {
                case MapChange.PUT -> db.put(families.get(family), writeOptions, key, value);
                case MapChange.DELETE -> db.delete(families.get(family), writeOptions, key);
                default -> db.deleteRange(families.get(family), writeOptions, key, value);
            }
        } catch (RocksDBException e) {
            throw new StorageException("block map update failed: " + e.getMessage(), e);
        }
    }

    private void checkpointInBackground() {
        try {
            checkpoint();
        } catch (RuntimeException e) {
            log.error("block map checkpoint failed; the next change tries again: {}", e.toString());
        } finally {
            synchronized (journal) {
                checkpointing = false;
            }
        }
    }

    /**
     * Flushes RocksDB's memory to its files (synced), then starts the journal's replay where it
     * stood before the flush: every change before that point was in RocksDB's memory, so is now in
     * its files. Changes made during the flush are replayed again after a crash, which writes the
     * same values in the same order.
     */
    private void checkpoint() {
        MapJournal.Mark end;
        synchronized (journal) {
            end = journal.end();
        }
        try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
            db.flush(flush, families);
        } catch (RocksDBException e) {
            throw new StorageException("block map flush failed: " + e.getMessage(), e);
        }
        journal.checkpoint(end);
    }

    byte[] value(String key) {
        try {
            return db.get(volumes, key.getBytes(StandardCharsets.UTF_8));
        } catch (RocksDBException e) {
            throw new StorageException("block map read failed: " + e.getMessage(), e);
        }
    }

    void putValue(String key, byte[] value) {
        MapChange change = new MapChange();
        stageValue(change, key, value);
        write(change);
    }

    /** Every value whose key starts with {@code prefix}, in key order. */
    void values(String prefix, BiConsumer<String, byte[]> each) {
        byte[] start = prefix.getBytes(StandardCharsets.UTF_8);
        try (RocksIterator it = db.newIterator(volumes)) {
            for (it.seek(start); it.isValid(); it.next()) {
                String key = new String(it.key(), StandardCharsets.UTF_8);
                if (!key.startsWith(prefix)) {
                    break;
                }
                each.accept(key, it.value());
            }
        }
    }

    /**
     * Visits the volume's allocated chunks from {@code fromChunk} on, in order, until the visitor
     * returns false.
     */
    void chunks(long volumeId, long fromChunk, ChunkVisitor visitor) {
        try (RocksIterator it = db.newIterator(chunks)) {
            for (it.seek(chunkKey(volumeId, fromChunk)); it.isValid(); it.next()) {
                ByteBuffer key = ByteBuffer.wrap(it.key());
                if (key.getLong() != volumeId) {
                    break;
                }
                if (!visitor.visit(key.getLong(), ChunkEntry.decode(it.value()))) {
                    break;
                }
            }
        }
    }

    @FunctionalInterface
    interface ChunkVisitor {
        boolean visit(long chunk, ChunkEntry entry);
    }

    /** Removes every chunk of the volume. */
    void deleteChunks(long volumeId) {
        MapChange change = new MapChange();
        change.deleteRange(MapChange.CHUNKS, chunkKey(volumeId, 0), chunkKey(volumeId + 1, 0));
        write(change);
    }

    /** A RocksDB integer property of the chunk column family (e.g. "rocksdb.estimate-num-keys"), or -1. */
    long property(String name) {
        try {
            return db.getLongProperty(chunks, name);
        } catch (RocksDBException e) {
            return -1;
        }
    }

    /** Bytes of changes the journal would replay now, and whether a checkpoint is queued or running. */
    record JournalState(long used, boolean checkpointing) {
    }

    JournalState journalState() {
        synchronized (journal) {
            return new JournalState(journal.used(), checkpointing);
        }
    }

    /** Makes everything written so far durable (fsync of the journal). */
    void sync() {
        journal.sync();
    }

    @Override
    public void close() {
        checkpointer.shutdown();
        try {
            if (!checkpointer.awaitTermination(1, TimeUnit.MINUTES)) {
                log.warn("block map checkpoint still running at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (journal != null) {
            try {
                checkpoint(); // a clean start next time: nothing to replay
            } catch (RuntimeException e) {
                log.warn("block map checkpoint at close failed; the journal is replayed at the next open: {}",
                        e.toString());
            }
            journal.close();
        }
        chunks.close();
        volumes.close();
        defaultFamily.close();
        writeOptions.close();
        db.close();
        options.close();
        columnOptions.close();
    }
}

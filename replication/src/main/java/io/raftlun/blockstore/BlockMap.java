package io.raftlun.blockstore;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
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
 * <p>Writes go through RocksDB's write-ahead log without fsync; {@link #sync()} makes everything
 * written so far durable. A process crash (kill -9) loses nothing that was written, because the log
 * is in the operating system's cache; a power loss loses what came after the last sync.
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
    private final WriteOptions writeOptions = new WriteOptions();

    private BlockMap(RocksDB db, DBOptions options, ColumnFamilyOptions columnOptions,
                     List<ColumnFamilyHandle> handles) {
        this.db = db;
        this.options = options;
        this.columnOptions = columnOptions;
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
            return new BlockMap(db, options, columnOptions, handles);
        } catch (RocksDBException e) {
            throw new StorageException("cannot open the block map in " + directory + ": " + e.getMessage(), e);
        } catch (java.io.IOException e) {
            throw new StorageException("cannot create " + directory + ": " + e.getMessage(), e);
        }
    }

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
        try {
            if (entry.empty() && entry.lastIndex() == 0) {
                db.delete(chunks, writeOptions, chunkKey(volumeId, chunk));
                return false;
            }
            db.put(chunks, writeOptions, chunkKey(volumeId, chunk), entry.encode());
            return true;
        } catch (RocksDBException e) {
            throw new StorageException("block map update failed: " + e.getMessage(), e);
        }
    }

    void stageValue(WriteBatch batch, String key, byte[] value) {
        try {
            if (value == null) {
                batch.delete(volumes, key.getBytes(StandardCharsets.UTF_8));
            } else {
                batch.put(volumes, key.getBytes(StandardCharsets.UTF_8), value);
            }
        } catch (RocksDBException e) {
            throw new StorageException("block map update failed: " + e.getMessage(), e);
        }
    }

    void write(WriteBatch batch) {
        try {
            db.write(writeOptions, batch);
        } catch (RocksDBException e) {
            throw new StorageException("block map write failed: " + e.getMessage(), e);
        }
    }

    byte[] value(String key) {
        try {
            return db.get(volumes, key.getBytes(StandardCharsets.UTF_8));
        } catch (RocksDBException e) {
            throw new StorageException("block map read failed: " + e.getMessage(), e);
        }
    }

    void putValue(String key, byte[] value) {
        try (WriteBatch batch = new WriteBatch()) {
            stageValue(batch, key, value);
            write(batch);
        }
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
        try {
            db.deleteRange(chunks, chunkKey(volumeId, 0), chunkKey(volumeId + 1, 0));
        } catch (RocksDBException e) {
            throw new StorageException("block map delete failed: " + e.getMessage(), e);
        }
    }

    /** A RocksDB integer property of the chunk column family (e.g. "rocksdb.estimate-num-keys"), or -1. */
    long property(String name) {
        try {
            return db.getLongProperty(chunks, name);
        } catch (RocksDBException e) {
            return -1;
        }
    }

    /** Makes everything written so far durable (fsync of the write-ahead log). */
    void sync() {
        try {
            db.flushWal(true);
        } catch (RocksDBException e) {
            throw new StorageException("block map sync failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            db.flushWal(true);
        } catch (RocksDBException e) {
            // closing anyway: the log is replayed on the next open
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

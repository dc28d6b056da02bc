package io.raftlun.blockstore;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.raftlun.volume.BlockVolume;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The block storage of one node: under its data directory, {@code blockmap/} (RocksDB: the block
 * map and the volume records, with the map's journal) and {@code volumes/} (one sparse data file per volume, unless the
 * volume lives on a device of the operator's choosing). One process at a time: a lock file keeps a
 * second node off the same directory.
 */
public final class NodeStorage implements AutoCloseable {

    /** Threads doing blocking file and RocksDB I/O for the local volumes (never the event loops). */
    private static final int IO_THREADS = 4;
    static final String VOLUME_PREFIX = "volume/";
    private static final String RESERVATIONS_PREFIX = "reservations/";
    private static final String NEXT_ID = "next-volume-id";

    private final Path directory;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final BlockMap map;
    private final ExecutorService io;
    /** Fsyncs the block map while a volume's sync fsyncs its data file (see {@link BlockStore#sync}). */
    private final ExecutorService mapSyncer;
    private final Map<String, BlockStore> open = new HashMap<>();
    private final Map<String, StoreCounters> counters = new HashMap<>();
    private boolean closed;

    private NodeStorage(Path directory, FileChannel lockChannel, FileLock lock, BlockMap map) {
        this.directory = directory;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.map = map;
        this.io = Executors.newFixedThreadPool(IO_THREADS, new DefaultThreadFactory("blockstore-io", true));
        this.mapSyncer = Executors.newCachedThreadPool(new DefaultThreadFactory("blockmap-sync", true));
    }

    /** Opens (creating if needed) the storage in {@code dataDirectory}. */
    public static NodeStorage open(Path dataDirectory) {
        FileChannel lockChannel = null;
        try {
            Files.createDirectories(dataDirectory.resolve("volumes"));
            lockChannel = FileChannel.open(dataDirectory.resolve("storage.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new StorageException("data directory " + dataDirectory
                        + " is in use by another raftlun node (storage.lock is held)");
            }
            // Under the lock: this process alone replaces the library file there.
            BlockMap.loadNativeLibrary(dataDirectory.resolve("native"));
            return new NodeStorage(dataDirectory, lockChannel, lock, BlockMap.open(dataDirectory.resolve("blockmap")));
        } catch (IOException e) {
            closeQuietly(lockChannel);
            throw new StorageException("cannot use data directory " + dataDirectory + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(lockChannel);
            throw e;
        }
    }

    public Path directory() {
        return directory;
    }

    /** Every local volume's record, by name. */
    public synchronized List<VolumeRecord> volumes() {
        List<VolumeRecord> records = new ArrayList<>();
        map.values(VOLUME_PREFIX, (key, value) -> records.add(VolumeRecord.decode(value)));
        return records;
    }

    public synchronized VolumeRecord volume(String name) {
        byte[] value = map.value(VOLUME_PREFIX + name);
        return value == null ? null : VolumeRecord.decode(value);
    }

    /**
     * Creates a thin volume: a sparse data file under {@code volumes/}, or {@code device} (a file or
     * block device the operator names, as tgt's backing store) when not null.
     */
    public synchronized VolumeRecord create(String name, long blockCount, int blockSize, Path device) {
        if (volume(name) != null) {
            throw new StorageException("volume " + name + " already exists on this node");
        }
        if (blockSize != 512 && blockSize != 4096) {
            throw new StorageException("block size must be 512 or 4096, not " + blockSize);
        }
        if (blockCount <= 0) {
            throw new StorageException("volume " + name + " needs a size above zero");
        }
        byte[] next = map.value(NEXT_ID);
        long id = next == null ? 1 : ByteBuffer.wrap(next).getLong();
        Path dataPath = device != null ? device.toAbsolutePath()
                : directory.resolve("volumes").resolve(id + ".data").toAbsolutePath();
        VolumeRecord record = new VolumeRecord(id, name, blockCount, blockSize, dataPath.toString(), 0,
                device != null);
        try (FileChannel channel = openData(record, true)) {
            long available = Devices.size(dataPath, channel);
            if (device != null && available < record.sizeBytes()) {
                throw new StorageException("backing store " + device + " holds " + available
                        + " bytes, less than the volume's " + record.sizeBytes());
            }
        } catch (IOException e) {
            throw new StorageException("cannot create " + dataPath + ": " + e.getMessage(), e);
        }
        map.putValue(NEXT_ID, ByteBuffer.allocate(8).putLong(id + 1).array());
        map.putValue(VOLUME_PREFIX + name, record.encode());
        map.sync();
        return record;
    }

    private static FileChannel openData(VolumeRecord record, boolean create) throws IOException {
        Path path = Path.of(record.dataPath());
        if (record.device()) {
            if (!Files.exists(path)) {
                throw new IOException("backing store " + path + " does not exist");
            }
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        if (!create && !Files.exists(path)) {
            throw new IOException("data file " + path + " is missing");
        }
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            if (file.length() < record.dataOffset() + record.sizeBytes()) {
                file.setLength(record.dataOffset() + record.sizeBytes()); // sparse: costs nothing until written
            }
        }
        return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** The block store of an existing volume, opened once and shared. */
    public synchronized BlockStore store(String name) {
        BlockStore store = open.get(name);
        if (store != null) {
            return store;
        }
        VolumeRecord record = volume(name);
        if (record == null) {
            throw new StorageException("no volume named " + name + " on this node");
        }
        try {
            StoreCounters storeCounters = counters.computeIfAbsent(name, n -> new StoreCounters());
            store = new BlockStore(record, map, mapSyncer, openData(record, false), storeCounters);
        } catch (IOException e) {
            throw new StorageException("cannot open volume " + name + ": " + e.getMessage(), e);
        }
        open.put(name, store);
        return store;
    }

    /** Opens the volume with this name as a local (unreplicated) volume, creating it if needed. */
    public synchronized BlockVolume openVolume(String name, long blockCount, int blockSize) {
        VolumeRecord record = volume(name);
        if (record == null) {
            create(name, blockCount, blockSize, null);
        } else if (record.blockSize() != blockSize) {
            throw new StorageException("volume " + name + " has " + record.blockSize() + "-byte blocks, not "
                    + blockSize);
        } else if (record.blockCount() != blockCount) {
            throw new StorageException("volume " + name + " holds " + record.blockCount() + " blocks, not "
                    + blockCount);
        }
        return new LocalVolume(store(name), io, this);
    }

    /** Opens an existing volume as a local volume. */
    public synchronized BlockVolume openVolume(String name) {
        return new LocalVolume(store(name), io, this);
    }

    /** Deletes the volume: its block map, its reservations and (unless it is a device) its data file. */
    public synchronized void delete(String name) {
        VolumeRecord record = volume(name);
        if (record == null) {
            throw new StorageException("no volume named " + name + " on this node");
        }
        BlockStore store = open.remove(name);
        if (store != null) {
            store.close();
        }
        map.deleteChunks(record.id());
        map.putValue(RESERVATIONS_PREFIX + record.id(), null);
        map.putValue(VOLUME_PREFIX + name, null);
        map.sync();
        if (!record.device()) {
            try {
                Files.deleteIfExists(Path.of(record.dataPath()));
            } catch (IOException e) {
                throw new StorageException("volume " + name + " is deleted but its data file " + record.dataPath()
                        + " could not be removed: " + e.getMessage(), e);
            }
        }
    }

    byte[] reservations(VolumeRecord record) {
        return map.value(RESERVATIONS_PREFIX + record.id());
    }

    void saveReservations(VolumeRecord record, byte[] state) {
        map.putValue(RESERVATIONS_PREFIX + record.id(), state);
        map.sync(); // a PERSISTENT RESERVE OUT completes only once its change is durable
    }

    public synchronized StoreCounters counters(String name) {
        return counters.computeIfAbsent(name, n -> new StoreCounters());
    }

    /** A RocksDB integer property of the block map, for metrics; -1 once the storage is closed. */
    public synchronized long mapProperty(String name) {
        return closed ? -1 : map.property(name);
    }

    /** Allocated blocks of the volume (walks its part of the block map); -1 if not open here or closed. */
    public synchronized long allocatedBlocks(String name) {
        BlockStore store = open.get(name);
        return closed || store == null ? -1 : store.allocatedBlocks();
    }

    @Override
    public synchronized void close() {
        closed = true;
        io.shutdown();
        try {
            io.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (BlockStore store : open.values()) {
            try {
                store.close();
            } catch (RuntimeException e) {
                // keep closing the others; the block map's log covers what was not synced
            }
        }
        open.clear();
        mapSyncer.shutdown();
        map.close();
        try {
            lock.release();
        } catch (IOException e) {
            // released when the channel closes
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}

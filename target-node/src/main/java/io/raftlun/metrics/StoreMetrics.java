package io.raftlun.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.raftlun.blockstore.NodeStorage;
import io.raftlun.blockstore.StoreCounters;
import io.raftlun.blockstore.VolumeRecord;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The block stores of this node: per volume replica, its capacity, allocated bytes, data file and
 * the blocks verified, found corrupt and repaired; per node, the block map's RocksDB and the disk
 * the data directory is on.
 */
public final class StoreMetrics {

    /** Allocated bytes walk the block map: asked at most this often. */
    static final long ALLOCATED_MAX_AGE_NANOS = 30_000_000_000L;

    private final MeterRegistry registry;
    private final NodeStorage storage;
    private final KeyedMeters volumes;

    public StoreMetrics(MeterRegistry registry, NodeStorage storage) {
        this.registry = registry;
        this.storage = storage;
        this.volumes = new KeyedMeters(registry);
        FileStore disk = fileStore(storage.directory());
        if (disk != null) {
            diskGauge("raftlun_store_disk_free_bytes", "Bytes free for the node on its data directory's disk",
                    disk, FileStore::getUsableSpace);
            diskGauge("raftlun_store_disk_total_bytes", "Size of the data directory's disk", disk,
                    FileStore::getTotalSpace);
        }
        mapGauge("raftlun_blockmap_estimated_keys", "rocksdb.estimate-num-keys",
                "Chunk entries in the block map (RocksDB's estimate)");
        mapGauge("raftlun_blockmap_sst_size_bytes", "rocksdb.total-sst-files-size",
                "Size of the block map's SST files");
        mapGauge("raftlun_blockmap_memtable_size_bytes", "rocksdb.cur-size-all-mem-tables",
                "Size of the block map's memtables");
    }

    /** Brings the per-volume meters up to date with the volumes on this node. */
    public void refresh() {
        List<VolumeRecord> records = storage.volumes();
        volumes.sync(records.stream().map(VolumeRecord::name).toList(),
                name -> register(records.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow()));
    }

    private List<Meter> register(VolumeRecord record) {
        String volume = record.name();
        StoreCounters counters = storage.counters(volume);
        long blockSize = record.blockSize();
        Cached allocated = new Cached(() -> {
            long blocks = storage.allocatedBlocks(volume);
            return blocks < 0 ? Double.NaN : blocks * (double) blockSize;
        });
        return List.of(
                Gauge.builder("raftlun_store_capacity_bytes", record::sizeBytes).tag("volume", volume)
                        .description("Capacity of the volume").register(registry),
                Gauge.builder("raftlun_store_allocated_bytes", allocated::get).tag("volume", volume)
                        .description("Bytes of the volume allocated in this replica (thin provisioning)")
                        .register(registry),
                Gauge.builder("raftlun_store_data_file_size_bytes", () -> dataFileSize(record)).tag("volume", volume)
                        .description("Apparent size of the replica's data file (its device's capacity for a device)")
                        .register(registry),
                counter("raftlun_store_blocks_checked_total", volume, counters,
                        c -> c.bytesRead() / (double) blockSize,
                        "Blocks read from this replica, each checked against its CRC32C"),
                counter("raftlun_store_corrupt_blocks_total", volume, counters, StoreCounters::corruptBlocks,
                        "Blocks found not matching their CRC32C when read"),
                counter("raftlun_store_repaired_blocks_total", volume, counters, StoreCounters::repairedBlocks,
                        "Corrupt blocks rewritten from another replica's good copy"),
                counter("raftlun_scrub_blocks_checked_total", volume, counters, StoreCounters::scrubChecked,
                        "Blocks of this replica a scrub read and checked against their CRC32C"),
                counter("raftlun_scrub_corruptions_found_total", volume, counters, StoreCounters::scrubFound,
                        "Blocks of this replica a scrub found not matching their CRC32C"),
                counter("raftlun_scrub_corruptions_repaired_total", volume, counters, StoreCounters::scrubRepaired,
                        "Corrupt blocks of this replica a scrub rewrote from a healthy replica's copy"),
                counter("raftlun_store_written_bytes_total", volume, counters, StoreCounters::bytesWritten,
                        "Bytes written to this replica's data (applied writes, catch-up)"),
                counter("raftlun_store_syncs_total", volume, counters, StoreCounters::syncs,
                        "fsyncs of this replica's data and block map"));
    }

    private FunctionCounter counter(String name, String volume, StoreCounters counters,
                                    ToDoubleFunction<StoreCounters> value, String description) {
        return FunctionCounter.builder(name, counters, value).tag("volume", volume).description(description)
                .register(registry);
    }

    private static double dataFileSize(VolumeRecord record) {
        if (record.device()) {
            return record.sizeBytes();
        }
        try {
            return Files.size(Path.of(record.dataPath()));
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    /** A figure of a disk, as FileStore answers it. */
    private interface DiskFigure {
        long of(FileStore disk) throws IOException;
    }

    private void diskGauge(String name, String description, FileStore disk, DiskFigure figure) {
        Gauge.builder(name, disk, d -> {
            try {
                return figure.of(d);
            } catch (IOException e) {
                return Double.NaN;
            }
        }).description(description).strongReference(true).register(registry);
    }

    private void mapGauge(String name, String property, String description) {
        Gauge.builder(name, storage, s -> {
            long value = s.mapProperty(property);
            return value < 0 ? Double.NaN : value;
        }).description(description).register(registry);
    }

    private static FileStore fileStore(Path directory) {
        try {
            return Files.getFileStore(directory);
        } catch (IOException e) {
            return null;
        }
    }

    /** A value that is costly to compute, computed again only once it is older than {@link #ALLOCATED_MAX_AGE_NANOS}. */
    private static final class Cached {
        private final DoubleSupplier compute;
        private double value = Double.NaN;
        private long at;
        private boolean known;

        Cached(DoubleSupplier compute) {
            this.compute = compute;
        }

        synchronized double get() {
            long now = System.nanoTime();
            if (!known || now - at > ALLOCATED_MAX_AGE_NANOS) {
                value = compute.getAsDouble();
                at = now;
                known = true;
            }
            return value;
        }
    }
}

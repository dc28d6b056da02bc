package io.raftlun.cli;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.BlockStore;
import io.raftlun.blockstore.NodeStorage;
import io.raftlun.blockstore.VolumeRecord;
import io.raftlun.target.ConfigFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code raftlun store}: offline tools that open a stopped node's block store directly. */
@Command(name = "store", mixinStandardHelpOptions = true,
        description = {"Offline tools for a STOPPED node's block store (its data directory).",
                "",
                "They open the data file(s) and the RocksDB block map directly, so the node",
                "must not run: its lock on the data directory makes them refuse while it does."},
        subcommands = {StoreCommand.Inspect.class, StoreCommand.Export.class, StoreCommand.Import.class})
public final class StoreCommand implements Runnable {

    /** Data per step of an export or import, and between progress reports. */
    static final int STEP_BYTES = 1 << 20;

    @Override
    public void run() {
        Main.usage(this);
    }

    /** The --data-dir every store command takes. */
    static final class DataDir {
        @Option(names = "--data-dir", paramLabel = "DIR", required = true,
                description = "The (stopped) node's data directory.")
        Path path;
    }

    /** The stores of a stopped node's data directory; refuses a missing one and one a running node holds. */
    static NodeStorage openStopped(Path dataDir) {
        if (!Files.isDirectory(dataDir.resolve("blockmap"))) {
            throw new IllegalArgumentException(Files.isDirectory(dataDir) ? dataDir
                    + " is not a node's data directory (it has no blockmap/)" : "no data directory " + dataDir);
        }
        return NodeStorage.open(dataDir);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Progress on stderr, a line per tenth (one line updated in place on a terminal); with the
     * bytes done and the speed when {@code total} counts bytes.
     */
    static final class Progress {
        private final String what;
        private final long total;
        private final boolean bytes;
        private final long start = System.nanoTime();
        private int shown = -1;

        Progress(String what, long total, boolean bytes) {
            this.what = what;
            this.total = total;
            this.bytes = bytes;
        }

        void at(long done) {
            int percent = total == 0 ? 100 : (int) (done * 100 / total);
            boolean terminal = System.console() != null;
            if (terminal ? percent != shown : percent / 10 != shown / 10) {
                shown = percent;
                double seconds = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
                System.err.printf("%s%s: %3d%%%s%s", terminal ? "\r" : "", what, percent, !bytes ? ""
                        : String.format(" (%s of %s, %.0f MiB/s)", Sizes.format(done), Sizes.format(total),
                        done / seconds / (1 << 20)), terminal ? "" : "\n");
                if (terminal && percent == 100) {
                    System.err.println();
                }
            }
        }

        double seconds() {
            return (System.nanoTime() - start) / 1e9;
        }
    }

    static boolean allZero(ByteBuf buffer, int from, int length) {
        for (int i = from; i < from + length; i += 8) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = {"Shows the volumes of a stopped node's data directory.",
                "",
                "For each: size, block size, where the blocks are, allocated bytes, the",
                "checkpoint (the applied index last made durable), the highest log index of any",
                "write applied, and the block map's chunk entries."},
            footer = {"",
                "Exit status: 0, or 1 if the directory is missing or in use by a running node."})
    static final class Inspect implements Callable<Integer> {
        @Mixin
        DataDir dataDir;

        @Option(names = {"-o", "--output"}, description = "text (default) or json.")
        String output = "text";

        @Override
        public Integer call() throws Exception {
            if (!output.equals("text") && !output.equals("json")) {
                throw new IllegalArgumentException("--output must be text or json, not " + output);
            }
            List<Map<String, Object>> volumes = new ArrayList<>();
            try (NodeStorage storage = openStopped(dataDir.path)) {
                for (VolumeRecord record : storage.volumes()) {
                    BlockStore store = storage.store(record.name());
                    BlockStore.MapStats stats = store.mapStats();
                    Map<String, Object> v = new LinkedHashMap<>();
                    v.put("volume", record.name());
                    v.put("sizeBytes", record.sizeBytes());
                    v.put("blockSize", record.blockSize());
                    v.put("data", record.dataPath());
                    v.put("device", record.device());
                    v.put("allocatedBytes", stats.allocatedBlocks() * record.blockSize());
                    v.put("checkpointIndex", store.durableIndex()[1]);
                    v.put("highestWriteIndex", stats.highestIndex());
                    v.put("chunkEntries", stats.chunks());
                    v.put("emptyChunkEntries", stats.emptyChunks());
                    v.put("blocksPerChunk", BlockStore.blocksPerChunk());
                    volumes.add(v);
                }
            }
            if (output.equals("json")) {
                System.out.println(ConfigFiles.JSON.writeValueAsString(Map.of("dataDir", dataDir.path.toString(),
                        "volumes", volumes)));
                return 0;
            }
            System.out.println("data directory " + dataDir.path + ": " + volumes.size() + " volume(s)");
            for (Map<String, Object> v : volumes) {
                long index = (Long) v.get("checkpointIndex");
                System.out.printf("  %s: %s in %s-byte blocks, %s allocated, %s %s%n", v.get("volume"),
                        Sizes.format((Long) v.get("sizeBytes")), v.get("blockSize"),
                        Sizes.format((Long) v.get("allocatedBytes")),
                        (Boolean) v.get("device") ? "device" : "data file",
                        v.get("data"));
                System.out.printf("      checkpoint at log index %s, highest write index %s; block map: %s chunk "
                                + "entries (%s empty), %s blocks each%n", index < 0 ? "none" : index,
                        v.get("highestWriteIndex"), v.get("chunkEntries"), v.get("emptyChunkEntries"),
                        v.get("blocksPerChunk"));
            }
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Writes a volume of a stopped node to a raw image, with its SHA-256.",
                "",
                "The image is sparse where the volume is unallocated. Every block is checked",
                "against its CRC32C: a corrupt block stops the export (scrub the volume in its",
                "cluster first, or export another replica). The image is the volume as this",
                "replica last applied it."},
            footer = {"",
                "Exit status: 0, or 1 (and no image left behind) on any failure."})
    static final class Export implements Callable<Integer> {
        @Mixin
        DataDir dataDir;

        @Parameters(index = "0", paramLabel = "VOLUME", description = "The volume to export.")
        String volume;

        @Parameters(index = "1", paramLabel = "IMAGE", description = "The raw image file to create (must not exist).")
        Path image;

        @Override
        public Integer call() throws Exception {
            if (Files.exists(image)) {
                throw new IllegalArgumentException(image + " exists already: give a new file");
            }
            try (NodeStorage storage = openStopped(dataDir.path)) {
                if (storage.volume(volume) == null) {
                    throw new IllegalArgumentException("no volume " + volume + " in " + dataDir.path + " (volumes: "
                            + storage.volumes().stream().map(VolumeRecord::name).toList() + ")");
                }
                BlockStore store = storage.store(volume);
                long size = store.blockCount() * store.blockSize();
                MessageDigest sha = sha256();
                Progress progress = new Progress("export " + volume, size, true);
                try (FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
                    int stepBlocks = STEP_BYTES / store.blockSize();
                    for (long lba = 0; lba < store.blockCount(); lba += stepBlocks) {
                        int blocks = (int) Math.min(stepBlocks, store.blockCount() - lba);
                        ByteBuf data = store.read(lba, blocks);
                        try {
                            sha.update(data.nioBuffer());
                            if (!allZero(data, 0, data.readableBytes())) { // holes stay holes
                                ByteBuffer bytes = data.nioBuffer();
                                long position = lba * store.blockSize();
                                while (bytes.hasRemaining()) {
                                    position += out.write(bytes, position);
                                }
                            }
                        } finally {
                            data.release();
                        }
                        progress.at((lba + blocks) * store.blockSize());
                    }
                    if (out.size() < size) {
                        out.write(ByteBuffer.wrap(new byte[1]), size - 1); // the image's full length, sparse
                    }
                    out.force(true);
                } catch (RuntimeException | IOException e) {
                    Files.deleteIfExists(image);
                    throw e;
                }
                String hex = HexFormat.of().formatHex(sha.digest());
                System.out.printf("exported volume %s (%s, %s allocated) to %s in %.1f s%n", volume,
                        Sizes.format(size), Sizes.format(store.allocatedBlocks() * store.blockSize()), image,
                        progress.seconds());
                System.out.println(hex + "  " + image);
            }
            return 0;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = {"Creates a new volume of a stopped lone node from a raw image.",
                "",
                "Prints the image's SHA-256. All-zero blocks stay unallocated (thin).",
                "",
                "Only a node outside a cluster (RF 1): a cluster's volumes belong to Raft",
                "groups the cluster's config places, which a single data directory cannot make.",
                "To serve the volume, name it in a LUN of the node's targets.json. The data",
                "directory must exist; it may be new and empty."},
            footer = {"",
                "Exit status: 0, or 1 (and nothing created) on any failure."})
    static final class Import implements Callable<Integer> {
        @Mixin
        DataDir dataDir;

        @Option(names = "--block-size", description = "Block size of the new volume: 512 (default) or 4096.")
        int blockSize = 512;

        @Parameters(index = "0", paramLabel = "IMAGE", description = "The raw image to read.")
        Path image;

        @Parameters(index = "1", paramLabel = "VOLUME", description = "The name of the new volume.")
        String volume;

        @Override
        public Integer call() throws Exception {
            Path dir = dataDir.path;
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("no data directory " + dir);
            }
            if (Files.exists(dir.resolve("raft"))) {
                throw new IllegalArgumentException(dir + " belongs to a cluster node: an imported volume would"
                        + " have no Raft group; import into a lone node's data directory");
            }
            if (!Files.isRegularFile(image)) {
                throw new IllegalArgumentException("no image file " + image);
            }
            if (blockSize != 512 && blockSize != 4096) {
                throw new IllegalArgumentException("--block-size must be 512 or 4096, not " + blockSize);
            }
            long size = Files.size(image);
            if (size == 0 || size % blockSize != 0) {
                throw new IllegalArgumentException(image + " holds " + size + " bytes, not a (non-zero) multiple of"
                        + " the " + blockSize + "-byte block size");
            }
            try (NodeStorage storage = NodeStorage.open(dir)) {
                if (storage.volume(volume) != null) {
                    throw new IllegalArgumentException("volume " + volume + " exists already in " + dir);
                }
                storage.create(volume, size / blockSize, blockSize, null);
                try {
                    String hex = copyIn(storage.store(volume), size);
                    BlockStore store = storage.store(volume);
                    System.out.printf("imported %s (%s) as volume %s in %s, %s allocated%n", image, Sizes.format(size),
                            volume, dir, Sizes.format(store.allocatedBlocks() * blockSize));
                    System.out.println(hex + "  " + image);
                } catch (RuntimeException | IOException e) {
                    storage.delete(volume);
                    throw e;
                }
            }
            return 0;
        }

        /** Writes the image's non-zero blocks into the store (log index 0: a lone node's); its SHA-256. */
        private String copyIn(BlockStore store, long size) throws IOException {
            MessageDigest sha = sha256();
            Progress progress = new Progress("import " + volume, size, true);
            ByteBuffer step = ByteBuffer.allocateDirect(STEP_BYTES);
            try (FileChannel in = FileChannel.open(image, StandardOpenOption.READ)) {
                for (long position = 0; position < size; position += step.limit()) {
                    step.clear().limit((int) Math.min(STEP_BYTES, size - position));
                    while (step.hasRemaining()) {
                        if (in.read(step, position + step.position()) < 0) {
                            throw new IOException(image + " ended early (it changed while read?)");
                        }
                    }
                    step.flip();
                    sha.update(step.duplicate());
                    ByteBuf data = Unpooled.wrappedBuffer(step);
                    long firstBlock = position / blockSize;
                    int blocks = step.limit() / blockSize;
                    int run = -1; // first block of the current run of non-zero blocks
                    for (int b = 0; b <= blocks; b++) {
                        boolean zero = b == blocks || allZero(data, b * blockSize, blockSize);
                        if (!zero && run < 0) {
                            run = b;
                        } else if (zero && run >= 0) {
                            store.write(0, firstBlock + run, data.slice(run * blockSize, (b - run) * blockSize));
                            run = -1;
                        }
                    }
                    progress.at(position + step.limit());
                }
            }
            store.sync();
            return HexFormat.of().formatHex(sha.digest());
        }
    }
}

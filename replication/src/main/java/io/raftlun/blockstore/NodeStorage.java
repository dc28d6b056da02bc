package io.raftlun.blockstore;

import io.raftlun.volume.BlockVolume;
import java.nio.file.Path;

/**
 * The block storage of one node: a data directory holding every local volume's block data and the
 * node's RocksDB block map. (Stub: filled in by the block store work.)
 */
public final class NodeStorage implements AutoCloseable {

    public static NodeStorage open(Path dataDirectory) {
        return new NodeStorage();
    }

    /** Opens the volume with this name, creating it (thin, all zeros) if it does not exist. */
    public BlockVolume openVolume(String name, long blockCount, int blockSize) {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {
    }
}

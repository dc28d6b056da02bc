package io.raftlun.blockstore;

import io.raftlun.volume.VolumeException;

/** The node's storage failed (disk, file system, block map): the data cannot be trusted to be there. */
public final class StorageException extends VolumeException {

    public StorageException(String message, Throwable cause) {
        super(Kind.INTERNAL, message, cause);
    }

    public StorageException(String message) {
        super(Kind.INTERNAL, message);
    }
}

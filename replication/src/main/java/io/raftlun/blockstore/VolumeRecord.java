package io.raftlun.blockstore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * What a node's block map records about one local volume.
 *
 * @param id         the volume's key prefix in the block map (unique on this node)
 * @param name       the volume's cluster-wide name
 * @param blockCount capacity in logical blocks
 * @param blockSize  logical block size in bytes
 * @param dataPath   the data file or device holding the blocks
 * @param dataOffset where block 0 starts in it
 * @param device     true for a device the operator configured (an LVM volume, say), false for a
 *                   sparse data file the store created and owns
 */
public record VolumeRecord(long id, String name, long blockCount, int blockSize, String dataPath, long dataOffset,
                           boolean device) {

    private static final int FORMAT = 1;

    public long sizeBytes() {
        return blockCount * blockSize;
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(FORMAT);
            out.writeLong(id);
            out.writeUTF(name);
            out.writeLong(blockCount);
            out.writeInt(blockSize);
            out.writeUTF(dataPath);
            out.writeLong(dataOffset);
            out.writeBoolean(device);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static VolumeRecord decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int format = in.readUnsignedByte();
            if (format != FORMAT) {
                throw new StorageException("volume record of unknown format " + format);
            }
            return new VolumeRecord(in.readLong(), in.readUTF(), in.readLong(), in.readInt(), in.readUTF(),
                    in.readLong(), in.readBoolean());
        } catch (IOException e) {
            throw new StorageException("malformed volume record", e);
        }
    }
}

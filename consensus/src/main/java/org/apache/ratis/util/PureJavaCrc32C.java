package org.apache.ratis.util;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * Takes the place of Ratis's class of this name, which its Raft log writer and reader create to
 * checksum every log entry, with no setting to choose another. The same CRC-32C, so logs written
 * by either read back with the other; computed by the JDK's {@link CRC32C} (a CPU instruction)
 * instead of Ratis's table lookups, which read the log writer's direct buffer a byte at a time.
 * Measured on a 3-node cluster under 1 MiB writes at queue depth 8: Ratis's took 67% of the
 * leader's samples of running Java code (JFR) and 72% of a follower's; with this one the cluster
 * spent 14.4 ms of CPU per write instead of 16.9.
 *
 * <p>Found ahead of Ratis's: on a class path raftlun-consensus comes before ratis-common (a
 * dependency of its own), and the raftlun jar leaves Ratis's out (ops/pom.xml).
 * {@code RaftNode.fastLogChecksum} tells whether this one is in use.
 */
public class PureJavaCrc32C implements Checksum {

    private final CRC32C crc = new CRC32C();

    @Override
    public long getValue() {
        return crc.getValue();
    }

    @Override
    public void reset() {
        crc.reset();
    }

    @Override
    public void update(byte[] bytes, int offset, int length) {
        crc.update(bytes, offset, length);
    }

    @Override
    public void update(ByteBuffer buffer) {
        crc.update(buffer);
    }

    @Override
    public final void update(int b) {
        crc.update(b);
    }
}

package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.consensus.RaftNode;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.Checksum;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.util.PureJavaCrc32C;
import org.junit.jupiter.api.Test;

/**
 * raftlun-consensus replaces the checksum class Ratis's Raft log hard-codes (see its comment).
 * Here, in a module that depends on raftlun-consensus as the node does, because the class path
 * order decides which class is used.
 */
class RaftLogChecksumTest {

    @Test
    void theRaftLogUsesRaftlunsChecksumClass() {
        assertTrue(RaftNode.fastLogChecksum(), "found first: " + PureJavaCrc32C.class.getProtectionDomain()
                .getCodeSource().getLocation());
    }

    @Test
    void itIsCrc32c() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        PureJavaCrc32C crc = new PureJavaCrc32C();
        crc.update(check, 0, check.length);
        assertEquals(0xE3069283L, crc.getValue()); // the check value of CRC-32C (RFC 3720, B.4)
        crc.reset();
        assertNotEquals(0xE3069283L, crc.getValue());
    }

    /** Logs written before (by Ratis's class) read back now, and the other way round. */
    @Test
    void givesWhatRatissOwnClassGives() throws Exception {
        URL ratisCommon = RaftProperties.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader alone = new URLClassLoader(new URL[] {ratisCommon}, null)) {
            Class<?> ratiss = alone.loadClass(PureJavaCrc32C.class.getName());
            assertNotEquals(PureJavaCrc32C.class, ratiss);
            Random random = new Random(7);
            for (int length : new int[] {0, 1, 7, 8, 9, 63, 4096, 4099, 1 << 20}) {
                byte[] data = new byte[length + 3];
                random.nextBytes(data);
                Checksum theirs = (Checksum) ratiss.getConstructor().newInstance();
                Checksum ours = new PureJavaCrc32C();
                theirs.update(data, 3, length); // the log reader's way: an array
                ours.update(data, 3, length);
                assertEquals(theirs.getValue(), ours.getValue(), length + " bytes from an array");

                ByteBuffer direct = ByteBuffer.allocateDirect(length); // the log writer's way
                direct.put(data, 3, length).flip();
                theirs.reset();
                theirs.update(direct.duplicate());
                ours.reset();
                ours.update(direct.duplicate());
                assertEquals(theirs.getValue(), ours.getValue(), length + " bytes from a direct buffer");

                if (length > 0) {
                    theirs.update(data[0] & 0xff);
                    ours.update(data[0] & 0xff);
                    assertEquals(theirs.getValue(), ours.getValue(), "one more byte after " + length);
                }
            }
        }
    }
}

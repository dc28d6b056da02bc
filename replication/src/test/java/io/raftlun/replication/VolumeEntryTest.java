package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.Test;

class VolumeEntryTest {

    static byte[] bytes(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed + i * 31);
        }
        return bytes;
    }

    static long crc(ByteBuffer buffer) {
        CRC32C crc = new CRC32C();
        crc.update(buffer.duplicate());
        return crc.getValue();
    }

    @Test
    void anEntryInOneArrayIsReadInPlaceAtItsOffset() {
        byte[] log = bytes(10_000, 1);
        ByteString entry = UnsafeByteOperations.unsafeWrap(log, 100, 8192);

        ByteBuffer in = VolumeEntry.inPlace(entry);

        assertTrue(in.hasArray(), "the array behind the entry, which CRC32C reads without a copy");
        assertEquals(log, in.array());
        assertEquals(0, in.position());
        assertEquals(8192, in.remaining());
        assertEquals(entry.asReadOnlyByteBuffer(), in);
        assertEquals(crc(entry.asReadOnlyByteBuffer()), crc(in));
    }

    @Test
    void anEntryInSeveralPiecesIsAReadOnlyViewOfThemAll() {
        ByteString entry = ByteString.copyFrom(bytes(5000, 2)).concat(ByteString.copyFrom(bytes(5000, 3)));

        ByteBuffer in = VolumeEntry.inPlace(entry);

        assertFalse(in.hasArray());
        assertTrue(in.isReadOnly());
        assertEquals(entry.asReadOnlyByteBuffer(), in);
    }

    @Test
    void anEmptyEntryIsAnEmptyBuffer() {
        assertEquals(0, VolumeEntry.inPlace(ByteString.EMPTY).remaining());
    }
}

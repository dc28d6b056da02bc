package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C header and data digests (RFC 7143 §13.1, appendix B.4): computed in place, no copies. */
final class Digests {

    private static final ThreadLocal<CRC32C> CRC = ThreadLocal.withInitial(CRC32C::new);

    private Digests() {
    }

    /** CRC32C of the readable bytes of the buffers, then {@code zeroPadding} zero bytes. */
    static int crc32c(ByteBuf first, ByteBuf second, int zeroPadding) {
        CRC32C crc = CRC.get();
        crc.reset();
        update(crc, first);
        if (second != null) {
            update(crc, second);
        }
        for (int i = 0; i < zeroPadding; i++) {
            crc.update(0);
        }
        // iSCSI sends the CRC in little-endian byte order of the register value (RFC 7143 B.4).
        return Integer.reverseBytes((int) crc.getValue());
    }

    static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = CRC.get();
        crc.reset();
        crc.update(bytes, offset, length);
        return Integer.reverseBytes((int) crc.getValue());
    }

    private static void update(CRC32C crc, ByteBuf buf) {
        if (buf.nioBufferCount() == 1) {
            crc.update(buf.nioBuffer());
        } else {
            for (ByteBuffer part : buf.nioBuffers()) {
                crc.update(part);
            }
        }
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes PDUs: the header (with digest) in a small buffer of its own, the data segment as the
 * very buffer the PDU holds (no copy), and padding plus data digest in a trailer.
 */
public final class PduEncoder extends MessageToMessageEncoder<IscsiPdu> {

    private volatile boolean headerDigest;
    private volatile boolean dataDigest;

    public PduEncoder() {
        super(IscsiPdu.class);
    }

    /** Digests negotiated at login apply from the first PDU after the final Login Response. */
    public void enableDigests(boolean header, boolean data) {
        this.headerDigest = header;
        this.dataDigest = data;
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, IscsiPdu pdu, List<Object> out) {
        ByteBuf data = pdu.content();
        int dataLength = data.readableBytes();
        byte[] bhs = pdu.bhs;
        byte[] ahs = pdu.ahs;
        bhs[Bhs.TOTAL_AHS_LENGTH] = (byte) (ahs.length / 4);
        bhs[Bhs.DATA_SEGMENT_LENGTH] = (byte) (dataLength >>> 16);
        bhs[Bhs.DATA_SEGMENT_LENGTH + 1] = (byte) (dataLength >>> 8);
        bhs[Bhs.DATA_SEGMENT_LENGTH + 2] = (byte) dataLength;

        boolean withHeaderDigest = headerDigest;
        ByteBuf header = ctx.alloc().buffer(Bhs.LENGTH + ahs.length + Bhs.DIGEST_LENGTH);
        header.writeBytes(bhs).writeBytes(ahs);
        if (withHeaderDigest) {
            header.writeInt(Digests.crc32c(header, null, 0));
        }
        out.add(header);
        if (dataLength == 0) {
            return;
        }
        out.add(data.retain());
        int padding = Bhs.padding(dataLength);
        boolean withDataDigest = dataDigest;
        if (padding > 0 || withDataDigest) {
            ByteBuf trailer = ctx.alloc().buffer(padding + Bhs.DIGEST_LENGTH);
            trailer.writeZero(padding);
            if (withDataDigest) {
                trailer.writeInt(Digests.crc32c(data, null, padding));
            }
            out.add(trailer);
        }
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Text Response (RFC 7143 §11.11). */
public final class TextResponse extends IscsiPdu {

    TextResponse(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    /**
     * @param cont true when more text follows: the TTT then names the rest, which the initiator asks
     *             for with an empty Text Request
     */
    public static TextResponse of(boolean finalBit, boolean cont, long lunField, int itt, int ttt,
                                  StatusSequence sequence, ByteBuf keys) {
        byte[] bhs = newBhs(Opcode.TEXT_RESPONSE, finalBit);
        if (cont) {
            bhs[1] |= 0x40;
        }
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, ttt);
        putSequence(bhs, sequence);
        return new TextResponse(bhs, null, keys);
    }

    public boolean continues() {
        return (flags() & 0x40) != 0;
    }

    public int targetTransferTag() {
        return getInt(20);
    }
}

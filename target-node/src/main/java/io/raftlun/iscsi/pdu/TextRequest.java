package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Text Request (RFC 7143 §11.10): text keys in full feature phase, e.g. SendTargets. */
public final class TextRequest extends IscsiPdu {

    TextRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static TextRequest of(boolean immediate, boolean finalBit, boolean cont, int itt, int ttt, int cmdSN,
                                 int expStatSN, ByteBuf keys) {
        byte[] bhs = newBhs(Opcode.TEXT_REQUEST, finalBit);
        if (immediate) {
            bhs[0] |= Bhs.IMMEDIATE_BIT;
        }
        if (cont) {
            bhs[1] |= 0x40;
        }
        putInt(bhs, 16, itt);
        putInt(bhs, 20, ttt);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        return new TextRequest(bhs, null, keys);
    }

    /** C bit: the text continues in the next request. */
    public boolean continues() {
        return (flags() & 0x40) != 0;
    }

    /** 0xffffffff for a new exchange; the target's tag when asking for the rest of a long answer. */
    public int targetTransferTag() {
        return getInt(20);
    }

    public int cmdSN() {
        return getInt(24);
    }

    public int expStatSN() {
        return getInt(28);
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** NOP-Out (RFC 7143 §11.18): an initiator's ping, or its answer to the target's NOP-In. */
public final class NopOut extends IscsiPdu {

    NopOut(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static NopOut of(boolean immediate, int itt, int ttt, int cmdSN, int expStatSN, ByteBuf pingData) {
        byte[] bhs = newBhs(Opcode.NOP_OUT, true);
        if (immediate) {
            bhs[0] |= Bhs.IMMEDIATE_BIT;
        }
        putInt(bhs, 16, itt);
        putInt(bhs, 20, ttt);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        return new NopOut(bhs, null, pingData);
    }

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

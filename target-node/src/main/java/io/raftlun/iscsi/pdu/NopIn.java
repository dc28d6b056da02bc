package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** NOP-In (RFC 7143 §11.19): the answer to a NOP-Out, or the target's own ping. */
public final class NopIn extends IscsiPdu {

    NopIn(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    /** The answer to an initiator's ping: same ITT, its ping data echoed. */
    public static NopIn reply(int itt, long lunField, StatusSequence sequence, ByteBuf pingData) {
        byte[] bhs = newBhs(Opcode.NOP_IN, true);
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, Bhs.RESERVED_TAG);
        putSequence(bhs, sequence);
        return new NopIn(bhs, null, pingData);
    }

    /** The target's own ping, answered by a NOP-Out with this TTT; StatSN is not advanced. */
    public static NopIn ping(int ttt, StatusSequence sequence) {
        byte[] bhs = newBhs(Opcode.NOP_IN, true);
        putInt(bhs, 16, Bhs.RESERVED_TAG);
        putInt(bhs, 20, ttt);
        putSequence(bhs, sequence);
        return new NopIn(bhs, null, null);
    }

    public int targetTransferTag() {
        return getInt(20);
    }

    public int statSN() {
        return getInt(24);
    }
}

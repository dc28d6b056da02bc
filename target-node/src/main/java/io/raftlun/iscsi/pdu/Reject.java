package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Reject (RFC 7143 §11.17): the data segment is the header of the rejected PDU. */
public final class Reject extends IscsiPdu {

    public static final int DATA_DIGEST_ERROR = 0x02;
    public static final int SNACK_REJECT = 0x03;
    public static final int PROTOCOL_ERROR = 0x04;
    public static final int COMMAND_NOT_SUPPORTED = 0x05;
    public static final int IMMEDIATE_COMMAND_REJECT = 0x06;
    public static final int TASK_IN_PROGRESS = 0x07;
    public static final int INVALID_DATA_ACK = 0x08;
    public static final int INVALID_PDU_FIELD = 0x09;
    public static final int OUT_OF_RESOURCES = 0x0a;
    public static final int WAITING_FOR_LOGOUT = 0x0c;

    Reject(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static Reject of(int reason, byte[] rejectedHeader, StatusSequence sequence) {
        byte[] bhs = newBhs(Opcode.REJECT, true);
        bhs[2] = (byte) reason;
        putInt(bhs, 16, Bhs.RESERVED_TAG);
        putSequence(bhs, sequence);
        return new Reject(bhs, null, Unpooled.wrappedBuffer(rejectedHeader));
    }

    public int reason() {
        return bhs[2] & 0xff;
    }
}

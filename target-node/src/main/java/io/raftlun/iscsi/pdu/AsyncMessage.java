package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Asynchronous Message (RFC 7143 §11.9). */
public final class AsyncMessage extends IscsiPdu {

    /** AsyncEvent: a SCSI asynchronous event; the data segment holds sense data. */
    public static final int SCSI_EVENT = 0;
    /** AsyncEvent: the target asks the initiator to log out within Parameter3 seconds. */
    public static final int LOGOUT_REQUESTED = 1;
    /** AsyncEvent: the target will drop every connection of the session. */
    public static final int DROPPING_ALL_CONNECTIONS = 3;

    AsyncMessage(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static AsyncMessage of(long lunField, StatusSequence sequence, int asyncEvent, int parameter1,
                                  int parameter2, int parameter3, ByteBuf data) {
        byte[] bhs = newBhs(Opcode.ASYNC_MESSAGE, true);
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, Bhs.RESERVED_TAG);
        putSequence(bhs, sequence);
        bhs[36] = (byte) asyncEvent;
        putShort(bhs, 38, parameter1);
        putShort(bhs, 40, parameter2);
        putShort(bhs, 42, parameter3);
        return new AsyncMessage(bhs, null, data);
    }

    public int asyncEvent() {
        return bhs[36] & 0xff;
    }
}

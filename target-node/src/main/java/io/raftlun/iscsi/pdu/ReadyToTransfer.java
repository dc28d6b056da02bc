package io.raftlun.iscsi.pdu;

/** Ready To Transfer, R2T (RFC 7143 §11.8): asks the initiator for a range of write data. */
public final class ReadyToTransfer extends IscsiPdu {

    ReadyToTransfer(byte[] bhs, byte[] ahs, io.netty.buffer.ByteBuf data) {
        super(bhs, ahs, data);
    }

    /** {@code sequence} carries the current StatSN, which an R2T does not advance. */
    public static ReadyToTransfer of(long lunField, int itt, int ttt, StatusSequence sequence, int r2tSN,
                                     int bufferOffset, int desiredLength) {
        byte[] bhs = newBhs(Opcode.READY_TO_TRANSFER, true);
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, ttt);
        putSequence(bhs, sequence);
        putInt(bhs, 36, r2tSN);
        putInt(bhs, 40, bufferOffset);
        putInt(bhs, 44, desiredLength);
        return new ReadyToTransfer(bhs, null, null);
    }

    public int targetTransferTag() {
        return getInt(20);
    }

    public int r2tSN() {
        return getInt(36);
    }

    public int bufferOffset() {
        return getInt(40);
    }

    public int desiredLength() {
        return getInt(44);
    }
}

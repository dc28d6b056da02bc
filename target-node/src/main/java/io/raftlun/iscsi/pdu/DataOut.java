package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SCSI Data-Out (RFC 7143 §11.7): write data, unsolicited or answering an R2T. */
public final class DataOut extends IscsiPdu {

    DataOut(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static DataOut of(boolean finalBit, long lunField, int itt, int ttt, int expStatSN, int dataSN,
                             int bufferOffset, ByteBuf data) {
        byte[] bhs = newBhs(Opcode.SCSI_DATA_OUT, finalBit);
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, ttt);
        putInt(bhs, 28, expStatSN);
        putInt(bhs, 36, dataSN);
        putInt(bhs, 40, bufferOffset);
        return new DataOut(bhs, null, data);
    }

    /** The R2T's transfer tag, or 0xffffffff for unsolicited data. */
    public int targetTransferTag() {
        return getInt(20);
    }

    public int expStatSN() {
        return getInt(28);
    }

    public int dataSN() {
        return getInt(36);
    }

    public int bufferOffset() {
        return getInt(40);
    }

    @Override
    protected String describe() {
        return ", ttt=0x" + Integer.toHexString(targetTransferTag()) + ", offset=" + bufferOffset() + ", F="
                + finalBit();
    }
}

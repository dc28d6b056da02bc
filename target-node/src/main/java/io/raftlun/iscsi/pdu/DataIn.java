package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/**
 * SCSI Data-In (RFC 7143 §11.7). The last PDU of a read may carry the status as well (S bit),
 * saving a separate SCSI Response.
 */
public final class DataIn extends IscsiPdu {

    DataIn(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    /** A Data-In without status; {@code sequence} carries the current StatSN, not advanced. */
    public static DataIn of(boolean finalBit, int itt, StatusSequence sequence, int dataSN, int bufferOffset,
                            ByteBuf data) {
        byte[] bhs = newBhs(Opcode.SCSI_DATA_IN, finalBit);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, Bhs.RESERVED_TAG);
        putSequence(bhs, sequence);
        putInt(bhs, 24, 0); // StatSN is reserved unless the S bit is set
        putInt(bhs, 36, dataSN);
        putInt(bhs, 40, bufferOffset);
        return new DataIn(bhs, null, data);
    }

    /** The last Data-In of a command, with its status (S and F bits) and residual. */
    public static DataIn withStatus(int itt, int status, StatusSequence sequence, int dataSN, int bufferOffset,
                                    long residual, ByteBuf data) {
        byte[] bhs = newBhs(Opcode.SCSI_DATA_IN, true);
        bhs[1] |= (byte) (0x01 | ScsiResponse.residualFlags(residual));
        bhs[3] = (byte) status;
        putInt(bhs, 16, itt);
        putInt(bhs, 20, Bhs.RESERVED_TAG);
        putSequence(bhs, sequence);
        putInt(bhs, 36, dataSN);
        putInt(bhs, 40, bufferOffset);
        putInt(bhs, 44, (int) Math.min(Math.abs(residual), 0xffffffffL));
        return new DataIn(bhs, null, data);
    }

    public boolean hasStatus() {
        return (flags() & 0x01) != 0;
    }

    public int status() {
        return bhs[3] & 0xff;
    }

    public int dataSN() {
        return getInt(36);
    }

    public int bufferOffset() {
        return getInt(40);
    }

    public int residualCount() {
        return getInt(44);
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/**
 * SCSI Response (RFC 7143 §11.4). The data segment holds the sense data, preceded by its 2-byte
 * length (§11.4.7.2).
 */
public final class ScsiResponse extends IscsiPdu {

    /** iSCSI response code: the command completed at the target (status is meaningful). */
    public static final int COMMAND_COMPLETED = 0x00;
    /** iSCSI response code: the target failed (e.g. the task could not be executed). */
    public static final int TARGET_FAILURE = 0x01;

    ScsiResponse(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    /**
     * @param residual expected length minus what the command would have transferred: positive is
     *                 an underflow (U bit), negative an overflow (O bit)
     */
    public static ScsiResponse of(int itt, int response, int status, StatusSequence sequence, int expDataSN,
                                  long residual, ByteBuf senseSegment) {
        byte[] bhs = newBhs(Opcode.SCSI_RESPONSE, true);
        bhs[1] |= residualFlags(residual);
        bhs[2] = (byte) response;
        bhs[3] = (byte) status;
        putInt(bhs, 16, itt);
        putSequence(bhs, sequence);
        putInt(bhs, 36, expDataSN);
        putInt(bhs, 44, (int) Math.min(Math.abs(residual), 0xffffffffL));
        return new ScsiResponse(bhs, null, senseSegment);
    }

    /** The O (0x04) or U (0x02) bit for a residual (RFC 7143 §11.4.1). */
    static int residualFlags(long residual) {
        return residual > 0 ? 0x02 : residual < 0 ? 0x04 : 0;
    }

    public int response() {
        return bhs[2] & 0xff;
    }

    public int status() {
        return bhs[3] & 0xff;
    }

    public int statSN() {
        return getInt(24);
    }

    public boolean underflow() {
        return (flags() & 0x02) != 0;
    }

    public boolean overflow() {
        return (flags() & 0x04) != 0;
    }

    public int residualCount() {
        return getInt(44);
    }

    @Override
    protected String describe() {
        return ", status=0x" + Integer.toHexString(status()) + ", residual=" + residualCount();
    }
}

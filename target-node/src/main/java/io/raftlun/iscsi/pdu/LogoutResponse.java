package io.raftlun.iscsi.pdu;

/** Logout Response (RFC 7143 §11.15). */
public final class LogoutResponse extends IscsiPdu {

    public static final int CLOSED = 0;
    public static final int CID_NOT_FOUND = 1;
    public static final int RECOVERY_NOT_SUPPORTED = 2;
    public static final int CLEANUP_FAILED = 3;

    LogoutResponse(byte[] bhs, byte[] ahs, io.netty.buffer.ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static LogoutResponse of(int response, int itt, StatusSequence sequence, int time2Wait,
                                    int time2Retain) {
        byte[] bhs = newBhs(Opcode.LOGOUT_RESPONSE, true);
        bhs[2] = (byte) response;
        putInt(bhs, 16, itt);
        putSequence(bhs, sequence);
        putShort(bhs, 40, time2Wait);
        putShort(bhs, 42, time2Retain);
        return new LogoutResponse(bhs, null, null);
    }

    public int response() {
        return bhs[2] & 0xff;
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Logout Request (RFC 7143 §11.14). */
public final class LogoutRequest extends IscsiPdu {

    public static final int CLOSE_SESSION = 0;
    public static final int CLOSE_CONNECTION = 1;
    public static final int REMOVE_CONNECTION_FOR_RECOVERY = 2;

    LogoutRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static LogoutRequest of(boolean immediate, int reason, int itt, int cid, int cmdSN, int expStatSN) {
        byte[] bhs = newBhs(Opcode.LOGOUT_REQUEST, true);
        if (immediate) {
            bhs[0] |= Bhs.IMMEDIATE_BIT;
        }
        bhs[1] |= (byte) reason;
        putInt(bhs, 16, itt);
        putShort(bhs, 20, cid);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        return new LogoutRequest(bhs, null, null);
    }

    public int reasonCode() {
        return flags() & 0x7f;
    }

    public int connectionId() {
        return getShort(20);
    }

    public int cmdSN() {
        return getInt(24);
    }

    public int expStatSN() {
        return getInt(28);
    }
}

package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Login Response (RFC 7143 §11.13). */
public final class LoginResponse extends IscsiPdu {

    LoginResponse(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static LoginResponse of(boolean transit, boolean cont, int csg, int nsg, long isid, int tsih, int itt,
                                   StatusSequence sequence, int statusClass, int statusDetail, ByteBuf keys) {
        byte[] bhs = newBhs(Opcode.LOGIN_RESPONSE, false);
        bhs[1] = (byte) ((transit ? 0x80 : 0) | (cont ? 0x40 : 0) | (csg << 2) | nsg);
        // VersionMax and VersionActive: 0x00, the only version there is (RFC 7143 §11.13.2).
        put48(bhs, 8, isid);
        putShort(bhs, 14, tsih);
        putInt(bhs, 16, itt);
        putSequence(bhs, sequence);
        bhs[36] = (byte) statusClass;
        bhs[37] = (byte) statusDetail;
        return new LoginResponse(bhs, null, keys);
    }

    public boolean transit() {
        return (flags() & 0x80) != 0;
    }

    public boolean continues() {
        return (flags() & 0x40) != 0;
    }

    public int currentStage() {
        return (flags() >> 2) & 3;
    }

    public int nextStage() {
        return flags() & 3;
    }

    public int tsih() {
        return getShort(14);
    }

    public int statSN() {
        return getInt(24);
    }

    public int statusClass() {
        return bhs[36] & 0xff;
    }

    public int statusDetail() {
        return bhs[37] & 0xff;
    }

    @Override
    protected String describe() {
        return ", status=0x" + Integer.toHexString(statusClass() << 8 | statusDetail()) + ", T=" + transit()
                + ", csg=" + currentStage() + ", nsg=" + nextStage();
    }
}

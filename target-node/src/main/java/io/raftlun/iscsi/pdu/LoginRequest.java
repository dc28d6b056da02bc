package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Login Request (RFC 7143 §11.12). The data segment holds text keys. */
public final class LoginRequest extends IscsiPdu {

    LoginRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    /** Builds a request, as an initiator would send it (tests and tools use this). */
    public static LoginRequest of(boolean transit, boolean cont, int csg, int nsg, long isid, int tsih,
                                  int itt, int cid, int cmdSN, int expStatSN, ByteBuf keys) {
        byte[] bhs = newBhs(Opcode.LOGIN_REQUEST, false);
        bhs[0] |= Bhs.IMMEDIATE_BIT;
        bhs[1] = (byte) ((transit ? 0x80 : 0) | (cont ? 0x40 : 0) | (csg << 2) | nsg);
        put48(bhs, 8, isid);
        putShort(bhs, 14, tsih);
        putInt(bhs, 16, itt);
        putShort(bhs, 20, cid);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        return new LoginRequest(bhs, null, keys);
    }

    /** T bit: the initiator is ready to move to the next stage. */
    public boolean transit() {
        return (flags() & 0x80) != 0;
    }

    /** C bit: the text continues in the next PDU. */
    public boolean continues() {
        return (flags() & 0x40) != 0;
    }

    /** Current stage: 0 security negotiation, 1 operational negotiation. */
    public int currentStage() {
        return (flags() >> 2) & 3;
    }

    /** Next stage: 1 operational negotiation, 3 full feature phase. */
    public int nextStage() {
        return flags() & 3;
    }

    public int versionMax() {
        return bhs[2] & 0xff;
    }

    public int versionMin() {
        return bhs[3] & 0xff;
    }

    /** ISID: with the initiator name, the initiator port (RFC 7143 §11.12.5). */
    public long isid() {
        return get48(8);
    }

    public int tsih() {
        return getShort(14);
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

    @Override
    protected String describe() {
        return ", csg=" + currentStage() + ", nsg=" + nextStage() + ", T=" + transit() + ", C=" + continues()
                + ", isid=0x" + Long.toHexString(isid()) + ", tsih=" + tsih();
    }
}

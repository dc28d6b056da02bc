package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SCSI Command (RFC 7143 §11.3). The data segment, if any, is immediate data. */
public final class ScsiCommandRequest extends IscsiPdu {

    /** AHS type of an extended CDB (RFC 7143 §11.2.2.3). */
    private static final int AHS_EXTENDED_CDB = 1;

    ScsiCommandRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static ScsiCommandRequest of(boolean immediate, boolean finalBit, boolean read, boolean write,
                                        int taskAttribute, long lunField, int itt, int expectedLength,
                                        int cmdSN, int expStatSN, byte[] cdb, ByteBuf immediateData) {
        byte[] bhs = newBhs(Opcode.SCSI_COMMAND, finalBit);
        if (immediate) {
            bhs[0] |= Bhs.IMMEDIATE_BIT;
        }
        bhs[1] |= (byte) ((read ? 0x40 : 0) | (write ? 0x20 : 0) | (taskAttribute & 7));
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, expectedLength);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        System.arraycopy(cdb, 0, bhs, 32, Math.min(16, cdb.length));
        return new ScsiCommandRequest(bhs, null, immediateData);
    }

    /** R bit: data flows from target to initiator. */
    public boolean read() {
        return (flags() & 0x40) != 0;
    }

    /** W bit: data flows from initiator to target. */
    public boolean write() {
        return (flags() & 0x20) != 0;
    }

    /** SAM task attribute: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA. */
    public int taskAttribute() {
        return flags() & 7;
    }

    public int expectedDataTransferLength() {
        return getInt(20);
    }

    public int cmdSN() {
        return getInt(24);
    }

    public int expStatSN() {
        return getInt(28);
    }

    /**
     * The whole CDB: the 16 bytes of the BHS followed by an extended-CDB AHS if present
     * (RFC 7143 §11.3.5).
     */
    public byte[] cdb() {
        byte[] extension = extendedCdb();
        byte[] cdb = new byte[16 + extension.length];
        System.arraycopy(bhs, 32, cdb, 0, 16);
        System.arraycopy(extension, 0, cdb, 16, extension.length);
        return cdb;
    }

    private byte[] extendedCdb() {
        int at = 0;
        while (at + 3 < ahs.length) {
            int length = ((ahs[at] & 0xff) << 8) | (ahs[at + 1] & 0xff);
            int type = ahs[at + 2] & 0xff;
            if (type == AHS_EXTENDED_CDB && length > 1 && at + 3 + length - 1 <= ahs.length) {
                byte[] extension = new byte[length - 1];
                System.arraycopy(ahs, at + 4, extension, 0, length - 1);
                return extension;
            }
            at += 3 + length;
            at = (at + 3) & ~3;
        }
        return new byte[0];
    }

    @Override
    protected String describe() {
        return ", op=0x" + Integer.toHexString(bhs[32] & 0xff) + ", cmdSN=" + cmdSN() + ", edtl="
                + expectedDataTransferLength() + (read() ? ", R" : "") + (write() ? ", W" : "");
    }
}

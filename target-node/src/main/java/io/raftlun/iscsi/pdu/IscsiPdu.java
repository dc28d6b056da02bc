package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.buffer.Unpooled;

/**
 * Base of every iSCSI PDU: the 48-byte Basic Header Segment, the Additional Header Segments, and
 * the data segment, which the PDU owns (see the package documentation for who releases it).
 * Subclasses give the BHS fields of their opcode names; the wire layout stays in this package.
 */
public abstract class IscsiPdu extends DefaultByteBufHolder {

    final byte[] bhs;
    final byte[] ahs;

    IscsiPdu(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(data == null ? Unpooled.EMPTY_BUFFER : data);
        this.bhs = bhs;
        this.ahs = ahs == null ? new byte[0] : ahs;
    }

    /** A new BHS for a PDU of this opcode, with the F bit set as most PDUs have it. */
    static byte[] newBhs(Opcode opcode, boolean finalBit) {
        byte[] bhs = new byte[Bhs.LENGTH];
        bhs[Bhs.OPCODE] = (byte) opcode.value();
        bhs[Bhs.FLAGS] = (byte) (finalBit ? Bhs.FINAL_BIT : 0);
        return bhs;
    }

    public Opcode opcode() {
        return Opcode.of(bhs[Bhs.OPCODE]);
    }

    /** The I bit: delivered at once, outside CmdSN order (RFC 7143 §3.2.2.1). */
    public boolean immediate() {
        return (bhs[Bhs.OPCODE] & Bhs.IMMEDIATE_BIT) != 0;
    }

    /** The F bit, for the PDUs that have one. */
    public boolean finalBit() {
        return (bhs[Bhs.FLAGS] & Bhs.FINAL_BIT) != 0;
    }

    /** The opcode-specific flags byte (byte 1). */
    public int flags() {
        return bhs[Bhs.FLAGS] & 0xff;
    }

    /** The LUN field as sent (for the PDUs that carry one). */
    public long lunField() {
        return getLong(Bhs.LUN);
    }

    /** The ITT (RFC 7143 §11.2.1.8); 0xffffffff is reserved. */
    public int initiatorTaskTag() {
        return getInt(Bhs.INITIATOR_TASK_TAG);
    }

    /** The data segment, without padding or digest. */
    public ByteBuf data() {
        return content();
    }

    /** A copy of the BHS, e.g. to return it in a Reject. */
    public byte[] bhsBytes() {
        return bhs.clone();
    }

    /** The additional header segments, raw (each: 2-byte length, type, specific bytes). */
    public byte[] ahsBytes() {
        return ahs.clone();
    }

    final int getInt(int offset) {
        return ((bhs[offset] & 0xff) << 24) | ((bhs[offset + 1] & 0xff) << 16)
                | ((bhs[offset + 2] & 0xff) << 8) | (bhs[offset + 3] & 0xff);
    }

    final int getShort(int offset) {
        return ((bhs[offset] & 0xff) << 8) | (bhs[offset + 1] & 0xff);
    }

    final long getLong(int offset) {
        return ((long) getInt(offset) << 32) | (getInt(offset + 4) & 0xffffffffL);
    }

    final long get48(int offset) {
        return ((long) getShort(offset) << 32) | (getInt(offset + 2) & 0xffffffffL);
    }

    static void putInt(byte[] bhs, int offset, int value) {
        bhs[offset] = (byte) (value >>> 24);
        bhs[offset + 1] = (byte) (value >>> 16);
        bhs[offset + 2] = (byte) (value >>> 8);
        bhs[offset + 3] = (byte) value;
    }

    static void putShort(byte[] bhs, int offset, int value) {
        bhs[offset] = (byte) (value >>> 8);
        bhs[offset + 1] = (byte) value;
    }

    static void putLong(byte[] bhs, int offset, long value) {
        putInt(bhs, offset, (int) (value >>> 32));
        putInt(bhs, offset + 4, (int) value);
    }

    static void put48(byte[] bhs, int offset, long value) {
        putShort(bhs, offset, (int) (value >>> 32));
        putInt(bhs, offset + 2, (int) value);
    }

    /** Stamps StatSN, ExpCmdSN and MaxCmdSN at offsets 24, 28, 32 (every target PDU has them there). */
    static void putSequence(byte[] bhs, StatusSequence sequence) {
        putInt(bhs, 24, sequence.statSN());
        putInt(bhs, 28, sequence.expCmdSN());
        putInt(bhs, 32, sequence.maxCmdSN());
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[itt=0x" + Integer.toHexString(initiatorTaskTag())
                + ", data=" + (refCnt() > 0 ? content().readableBytes() : -1) + describe() + "]";
    }

    /** Extra fields for {@link #toString()}. */
    protected String describe() {
        return "";
    }
}

package io.raftlun.iscsi.pdu;

/** iSCSI opcodes (RFC 7143 §11.1.1.1): the low six bits of the first BHS byte. */
public enum Opcode {
    // Initiator opcodes
    NOP_OUT(0x00, true),
    SCSI_COMMAND(0x01, true),
    TASK_MANAGEMENT_REQUEST(0x02, true),
    LOGIN_REQUEST(0x03, true),
    TEXT_REQUEST(0x04, true),
    SCSI_DATA_OUT(0x05, true),
    LOGOUT_REQUEST(0x06, true),
    SNACK_REQUEST(0x10, true),
    // Target opcodes
    NOP_IN(0x20, false),
    SCSI_RESPONSE(0x21, false),
    TASK_MANAGEMENT_RESPONSE(0x22, false),
    LOGIN_RESPONSE(0x23, false),
    TEXT_RESPONSE(0x24, false),
    SCSI_DATA_IN(0x25, false),
    LOGOUT_RESPONSE(0x26, false),
    READY_TO_TRANSFER(0x31, false),
    ASYNC_MESSAGE(0x32, false),
    REJECT(0x3f, false);

    private static final Opcode[] BY_VALUE = new Opcode[64];

    static {
        for (Opcode op : values()) {
            BY_VALUE[op.value] = op;
        }
    }

    private final int value;
    private final boolean fromInitiator;

    Opcode(int value, boolean fromInitiator) {
        this.value = value;
        this.fromInitiator = fromInitiator;
    }

    public int value() {
        return value;
    }

    /** True for opcodes an initiator sends (the ones a target decodes). */
    public boolean fromInitiator() {
        return fromInitiator;
    }

    /** The opcode for the low six bits of a BHS's first byte, or null if undefined. */
    public static Opcode of(int firstByte) {
        return BY_VALUE[firstByte & 0x3f];
    }
}

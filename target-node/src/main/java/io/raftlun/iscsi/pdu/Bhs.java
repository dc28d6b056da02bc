package io.raftlun.iscsi.pdu;

/**
 * Basic Header Segment layout (RFC 7143 §11.2): field offsets shared by the decoder and encoder,
 * and the limits the codec checks before it allocates anything.
 */
public final class Bhs {

    public static final int LENGTH = 48;
    public static final int DIGEST_LENGTH = 4;

    static final int OPCODE = 0;
    static final int FLAGS = 1;
    static final int TOTAL_AHS_LENGTH = 4;
    static final int DATA_SEGMENT_LENGTH = 5;
    static final int LUN = 8;
    static final int INITIATOR_TASK_TAG = 16;

    static final int IMMEDIATE_BIT = 0x40;
    static final int FINAL_BIT = 0x80;

    /** The reserved ITT / TTT value (RFC 7143 §11.2.1.8). */
    public static final int RESERVED_TAG = 0xffffffff;

    /** DataSegmentLength is a 24-bit field. */
    public static final int MAX_DATA_SEGMENT_LENGTH = (1 << 24) - 1;

    private Bhs() {
    }

    /** Data segments are padded to a multiple of four bytes (RFC 7143 §11.2.3). */
    public static int padding(int length) {
        return (4 - (length & 3)) & 3;
    }
}

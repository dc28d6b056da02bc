package io.raftlun.scsi;

/**
 * Sense data as a value (SPC-4 4.5.3, fixed format): the answer of a command that ended in CHECK
 * CONDITION, returned in its result, never thrown across layers.
 *
 * @param key          sense key
 * @param asc          additional sense code
 * @param ascq         additional sense code qualifier
 * @param fieldPointer sense-key-specific field pointer into the CDB or parameter list, or -1
 * @param inCdb        true if the field pointer points into the CDB (C/D bit)
 * @param bitPointer   bit within the byte the field pointer names, or -1
 * @param information  INFORMATION field (e.g. the miscompare offset), or -1
 */
public record Sense(int key, int asc, int ascq, int fieldPointer, boolean inCdb, int bitPointer, long information) {

    public static final int NO_SENSE = 0x0;
    public static final int NOT_READY = 0x2;
    public static final int MEDIUM_ERROR = 0x3;
    public static final int HARDWARE_ERROR = 0x4;
    public static final int ILLEGAL_REQUEST = 0x5;
    public static final int UNIT_ATTENTION = 0x6;
    public static final int DATA_PROTECT = 0x7;
    public static final int ABORTED_COMMAND = 0xb;
    public static final int MISCOMPARE = 0xe;

    /** ASC/ASCQ pairs (SPC-4 annex D), as {@code asc << 8 | ascq}. */
    public static final int INVALID_COMMAND_OPERATION_CODE = 0x2000;
    public static final int LBA_OUT_OF_RANGE = 0x2100;
    public static final int INVALID_FIELD_IN_CDB = 0x2400;
    public static final int LOGICAL_UNIT_NOT_SUPPORTED = 0x2500;
    public static final int INVALID_FIELD_IN_PARAMETER_LIST = 0x2600;
    public static final int PARAMETER_LIST_LENGTH_ERROR = 0x1a00;
    public static final int WRITE_PROTECTED = 0x2700;
    public static final int POWER_ON_RESET = 0x2900;
    public static final int BUS_DEVICE_RESET = 0x2903;
    public static final int PARAMETERS_CHANGED = 0x2a00;
    public static final int MODE_PARAMETERS_CHANGED = 0x2a01;
    public static final int RESERVATIONS_PREEMPTED = 0x2a03;
    public static final int RESERVATIONS_RELEASED = 0x2a04;
    public static final int REGISTRATIONS_PREEMPTED = 0x2a05;
    public static final int ASYMMETRIC_ACCESS_STATE_CHANGED = 0x2a06;
    public static final int CAPACITY_DATA_HAS_CHANGED = 0x2a09;
    public static final int REPORTED_LUNS_DATA_HAS_CHANGED = 0x3f0e;
    public static final int MISCOMPARE_DURING_VERIFY = 0x1d00;
    public static final int UNRECOVERED_READ_ERROR = 0x1100;
    public static final int LOGICAL_UNIT_NOT_READY = 0x0400;
    public static final int MEDIUM_NOT_PRESENT = 0x3a00;
    public static final int SAVING_PARAMETERS_NOT_SUPPORTED = 0x3900;
    public static final int INTERNAL_TARGET_FAILURE = 0x4400;
    public static final int INSUFFICIENT_REGISTRATION_RESOURCES = 0x5504;
    public static final int INVALID_FIELD_IN_INFORMATION_UNIT = 0x0e03;
    public static final int MEDIUM_REMOVAL_PREVENTED = 0x5302;
    public static final int NO_ADDITIONAL_SENSE = 0x0000;

    public static Sense of(int key, int ascAndQualifier) {
        return new Sense(key, ascAndQualifier >> 8, ascAndQualifier & 0xff, -1, false, -1, -1);
    }

    /** ILLEGAL REQUEST pointing at the CDB byte (and bit) that is wrong. */
    public static Sense invalidCdbField(int byteOffset, int bit) {
        return new Sense(ILLEGAL_REQUEST, 0x24, 0x00, byteOffset, true, bit, -1);
    }

    public static Sense invalidCdbField(int byteOffset) {
        return invalidCdbField(byteOffset, -1);
    }

    /** ILLEGAL REQUEST pointing at the parameter list byte that is wrong. */
    public static Sense invalidParameter(int byteOffset) {
        return new Sense(ILLEGAL_REQUEST, 0x26, 0x00, byteOffset, false, -1, -1);
    }

    public static Sense illegalRequest(int ascAndQualifier) {
        return of(ILLEGAL_REQUEST, ascAndQualifier);
    }

    public static Sense unitAttention(int ascAndQualifier) {
        return of(UNIT_ATTENTION, ascAndQualifier);
    }

    public Sense withInformation(long value) {
        return new Sense(key, asc, ascq, fieldPointer, inCdb, bitPointer, value);
    }

    public int ascAndQualifier() {
        return asc << 8 | ascq;
    }

    /** Fixed-format sense data, 18 bytes (SPC-4 4.5.3). */
    public byte[] toBytes() {
        byte[] sense = new byte[18];
        sense[0] = (byte) (information >= 0 ? 0xf0 : 0x70); // current error; VALID when INFORMATION is set
        sense[2] = (byte) key;
        if (information >= 0) {
            sense[3] = (byte) (information >>> 24);
            sense[4] = (byte) (information >>> 16);
            sense[5] = (byte) (information >>> 8);
            sense[6] = (byte) information;
        }
        sense[7] = 10;
        sense[12] = (byte) asc;
        sense[13] = (byte) ascq;
        if (fieldPointer >= 0) {
            sense[15] = (byte) (0x80 | (inCdb ? 0x40 : 0) | (bitPointer >= 0 ? 0x08 | bitPointer : 0));
            sense[16] = (byte) (fieldPointer >>> 8);
            sense[17] = (byte) fieldPointer;
        }
        return sense;
    }

    @Override
    public String toString() {
        return String.format("Sense[key=0x%x, asc/ascq=0x%02x/0x%02x%s]", key, asc, ascq,
                fieldPointer >= 0 ? ", field=" + fieldPointer : "");
    }
}

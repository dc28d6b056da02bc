package io.raftlun.iscsi.pdu;

/** Task Management Function Response (RFC 7143 §11.6). */
public final class TaskManagementResponse extends IscsiPdu {

    public static final int FUNCTION_COMPLETE = 0;
    public static final int TASK_DOES_NOT_EXIST = 1;
    public static final int LUN_DOES_NOT_EXIST = 2;
    public static final int TASK_STILL_ALLEGIANT = 3;
    public static final int REASSIGNMENT_NOT_SUPPORTED = 4;
    public static final int FUNCTION_NOT_SUPPORTED = 5;
    public static final int AUTHORIZATION_FAILED = 6;
    public static final int FUNCTION_REJECTED = 255;

    TaskManagementResponse(byte[] bhs, byte[] ahs, io.netty.buffer.ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static TaskManagementResponse of(int response, int itt, StatusSequence sequence) {
        byte[] bhs = newBhs(Opcode.TASK_MANAGEMENT_RESPONSE, true);
        bhs[2] = (byte) response;
        putInt(bhs, 16, itt);
        putSequence(bhs, sequence);
        return new TaskManagementResponse(bhs, null, null);
    }

    public int response() {
        return bhs[2] & 0xff;
    }
}

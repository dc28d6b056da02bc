package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** Task Management Function Request (RFC 7143 §11.5). */
public final class TaskManagementRequest extends IscsiPdu {

    public static final int ABORT_TASK = 1;
    public static final int ABORT_TASK_SET = 2;
    public static final int CLEAR_ACA = 3;
    public static final int CLEAR_TASK_SET = 4;
    public static final int LOGICAL_UNIT_RESET = 5;
    public static final int TARGET_WARM_RESET = 6;
    public static final int TARGET_COLD_RESET = 7;
    public static final int TASK_REASSIGN = 8;

    TaskManagementRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public static TaskManagementRequest of(boolean immediate, int function, long lunField, int itt,
                                           int referencedTaskTag, int cmdSN, int expStatSN, int refCmdSN) {
        byte[] bhs = newBhs(Opcode.TASK_MANAGEMENT_REQUEST, true);
        if (immediate) {
            bhs[0] |= Bhs.IMMEDIATE_BIT;
        }
        bhs[1] |= (byte) function;
        putLong(bhs, 8, lunField);
        putInt(bhs, 16, itt);
        putInt(bhs, 20, referencedTaskTag);
        putInt(bhs, 24, cmdSN);
        putInt(bhs, 28, expStatSN);
        putInt(bhs, 32, refCmdSN);
        return new TaskManagementRequest(bhs, null, null);
    }

    public int function() {
        return flags() & 0x7f;
    }

    /** The ITT of the task to abort (ABORT TASK). */
    public int referencedTaskTag() {
        return getInt(20);
    }

    public int cmdSN() {
        return getInt(24);
    }

    public int expStatSN() {
        return getInt(28);
    }

    /** The CmdSN of the task to abort (ABORT TASK). */
    public int refCmdSN() {
        return getInt(32);
    }

    @Override
    protected String describe() {
        return ", function=" + function() + ", rtt=0x" + Integer.toHexString(referencedTaskTag());
    }
}

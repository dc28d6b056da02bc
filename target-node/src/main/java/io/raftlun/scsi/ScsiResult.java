package io.raftlun.scsi;

import io.netty.buffer.ByteBuf;

/**
 * How a SCSI command ended: its status, sense data for CHECK CONDITION, and for commands that
 * return data the data (owned by whoever receives the result: the transport sends and releases it).
 *
 * <p>{@code commandLength} is how many bytes the command itself, by its CDB, would have
 * transferred (for data-in: the data's length before the transport cuts it to the initiator's
 * expected length). The transport reports the difference to the expected length as the residual
 * (RFC 7143 §11.4.5.1).
 *
 * @param status        SAM status byte (0 GOOD, 2 CHECK CONDITION, 8 BUSY, 0x18 RESERVATION CONFLICT, ...)
 * @param senseData     sense data bytes, or null
 * @param data          data-in, or null
 * @param commandLength bytes the command would transfer per its CDB
 */
public record ScsiResult(int status, byte[] senseData, ByteBuf data, long commandLength) {

    public static final int GOOD = 0x00;
    public static final int CHECK_CONDITION = 0x02;
    public static final int CONDITION_MET = 0x04;
    public static final int BUSY = 0x08;
    public static final int RESERVATION_CONFLICT = 0x18;
    public static final int TASK_SET_FULL = 0x28;
    public static final int ACA_ACTIVE = 0x30;
    public static final int TASK_ABORTED = 0x40;

    /**
     * Not an answer: the command came through a stale connection (a change it made was fenced off:
     * its portal has a newer holder, which the initiator moved to). The transport closes the
     * connection without answering, so the initiator resends the command on a new connection, which
     * reaches that holder.
     */
    public static final ScsiResult STALE_CONNECTION = new ScsiResult(BUSY, null, null, 0);

    /** True for {@link #STALE_CONNECTION}. */
    public boolean closesConnection() {
        return this == STALE_CONNECTION;
    }

    /** Releases the data buffer, when the result is dropped (aborted task, closed connection). */
    public void release() {
        if (data != null && data.refCnt() > 0) {
            data.release();
        }
    }
}

package io.raftlun.iscsi.session;

import io.netty.buffer.CompositeByteBuf;
import io.raftlun.iscsi.pdu.ScsiCommandRequest;

/**
 * One SCSI command on a connection, from arrival to its response: gathers write data (immediate,
 * unsolicited, and solicited by R2Ts, RFC 7143 §4.2.5) before the command executes.
 */
final class Task {

    final int itt;
    final int cmdSN;
    final long lunField;
    final long lun;
    final byte[] cdb;
    final int taskAttribute;
    /** The initiator's expected data transfer length, an unsigned 32-bit field. */
    final long expectedLength;
    final boolean read;
    final boolean write;
    /** For the command latency metric: see {@link io.raftlun.iscsi.IscsiMetrics.CommandTimers#start}. */
    final long arrivalNanos;

    /** Write data received so far, in buffer-offset order. */
    CompositeByteBuf data;
    /** Bytes of write data received (data arrives in order: DataPDUInOrder=Yes). */
    int received;
    /** Unsolicited Data-Out PDUs still to come (the command's F bit was clear). */
    boolean unsolicitedPending;
    /** Expected DataSN of the next unsolicited Data-Out. */
    int unsolicitedDataSN;

    /** Next R2TSN; also, with Data-In, the DataSN counter for reads. */
    int r2tSN;
    int dataSN;
    /** End of the data already asked for by R2Ts. */
    int solicitedEnd;
    int outstandingR2Ts;
    /** Open R2Ts: transfer tag -> [offset, length, next DataSN]. */
    final java.util.Map<Integer, int[]> openR2Ts = new java.util.HashMap<>();

    boolean executing;
    /** The SCSI layer has answered: the task can no longer change the medium. */
    boolean ended;
    boolean aborted;
    /** Made when a task is aborted while it executes; completed once it has ended. */
    java.util.concurrent.CompletableFuture<Void> endWaiter;

    Task(ScsiCommandRequest command, long lun, long arrivalNanos) {
        this.arrivalNanos = arrivalNanos;
        this.itt = command.initiatorTaskTag();
        this.cmdSN = command.cmdSN();
        this.lunField = command.lunField();
        this.lun = lun;
        this.cdb = command.cdb();
        this.taskAttribute = command.taskAttribute();
        this.expectedLength = command.expectedDataTransferLength() & 0xffffffffL;
        this.read = command.read();
        this.write = command.write();
    }

    /** Bytes of write data the command expects in all. */
    int writeLength() {
        return write ? (int) Math.min(expectedLength, Integer.MAX_VALUE) : 0;
    }

    void releaseData() {
        if (data != null) {
            data.release();
            data = null;
        }
    }
}

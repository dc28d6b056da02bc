package io.raftlun.iscsi;

/**
 * What this target offers in operational negotiation (RFC 7143 §13), in one place. The SCSI
 * layer's block limits (maximum transfer length) are chosen to fit these.
 */
public final class IscsiLimits {

    /** Our MaxRecvDataSegmentLength: the largest data segment we accept in one PDU. */
    public static final int TARGET_MAX_RECV_DATA_SEGMENT_LENGTH = 256 * 1024;

    /** MaxBurstLength we accept (the result is the smaller of both offers). */
    public static final int MAX_BURST_LENGTH = 1024 * 1024;

    /** FirstBurstLength we accept: how much unsolicited data one command may carry. */
    public static final int FIRST_BURST_LENGTH = 256 * 1024;

    /** R2Ts we allow outstanding per command. */
    public static final int MAX_OUTSTANDING_R2T = 8;

    /**
     * The largest data transfer of one command; also bounds what one command may make us buffer.
     * Reported to initiators as MAXIMUM TRANSFER LENGTH (SBC-4 6.6.4).
     */
    public static final int MAX_TRANSFER_BYTES = 8 * 1024 * 1024;

    /** Commands the session accepts ahead of completion (the CmdSN window). */
    public static final int COMMAND_WINDOW = 128;

    /** DefaultTime2Wait and DefaultTime2Retain we offer (ErrorRecoveryLevel 0 has no use for long ones). */
    public static final int DEFAULT_TIME_2_WAIT = 2;
    public static final int DEFAULT_TIME_2_RETAIN = 0;

    private IscsiLimits() {
    }
}

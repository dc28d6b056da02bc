package io.raftlun.iscsi.login;

/**
 * The operational parameters in force for a session after login (RFC 7143 §13). Lengths in bytes.
 *
 * @param initiatorMaxRecvDataSegmentLength the largest data segment we may send
 * @param targetMaxRecvDataSegmentLength    the largest data segment the initiator may send us
 */
public record SessionParameters(
        boolean headerDigest,
        boolean dataDigest,
        int maxConnections,
        boolean initialR2T,
        boolean immediateData,
        int initiatorMaxRecvDataSegmentLength,
        int targetMaxRecvDataSegmentLength,
        int maxBurstLength,
        int firstBurstLength,
        int defaultTime2Wait,
        int defaultTime2Retain,
        int maxOutstandingR2T,
        boolean dataPduInOrder,
        boolean dataSequenceInOrder,
        int errorRecoveryLevel) {
}

package io.raftlun.iscsi.pdu;

/**
 * The sequence numbers every target PDU carries (RFC 7143 §4.2.2): the connection's StatSN and
 * the session's command window.
 */
public record StatusSequence(int statSN, int expCmdSN, int maxCmdSN) {
}

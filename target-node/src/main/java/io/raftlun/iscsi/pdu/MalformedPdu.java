package io.raftlun.iscsi.pdu;

/**
 * What the decoder passes up instead of a PDU it could not accept. The connection answers with a
 * Reject, or, when the framing itself can no longer be trusted, closes the connection.
 *
 * @param reason      the Reject reason code (see {@link Reject})
 * @param header      the offending BHS (48 bytes), to return in the Reject
 * @param framingLost true when the byte stream can no longer be split into PDUs (bad header digest,
 *                    impossible lengths): the connection must be closed
 * @param detail      what was wrong, for the log
 */
public record MalformedPdu(int reason, byte[] header, boolean framingLost, String detail) {
}

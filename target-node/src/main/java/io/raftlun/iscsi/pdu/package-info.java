/**
 * The iSCSI wire format (RFC 7143 §11): one type per PDU with its BHS fields as named accessors,
 * {@link io.raftlun.iscsi.pdu.PduDecoder} and {@link io.raftlun.iscsi.pdu.PduEncoder}, digests
 * inside the codec. Nothing outside this package knows a byte offset.
 *
 * <p>Reference counting: a PDU owns its data segment. Whoever holds a PDU releases it: the
 * handler that consumes a decoded PDU, and the encoder for a PDU written to the channel. Data a
 * handler keeps beyond the PDU (write data gathered for a command) is retained first.
 */
package io.raftlun.iscsi.pdu;

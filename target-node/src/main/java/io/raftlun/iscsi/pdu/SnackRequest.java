package io.raftlun.iscsi.pdu;

import io.netty.buffer.ByteBuf;

/** SNACK Request (RFC 7143 §11.16). Only meaningful at ErrorRecoveryLevel above 0. */
public final class SnackRequest extends IscsiPdu {

    SnackRequest(byte[] bhs, byte[] ahs, ByteBuf data) {
        super(bhs, ahs, data);
    }

    public int type() {
        return flags() & 0x0f;
    }
}

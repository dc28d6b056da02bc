package io.raftlun.scsi;

import io.raftlun.iscsi.IscsiLimits;

/** What the disk promises in its Block Limits VPD page (SBC-4 6.6.4), in one place. */
final class BlockLimits {

    /** Bytes one READ or WRITE may move: what the transport is willing to buffer. */
    static final int MAX_TRANSFER_BYTES = IscsiLimits.MAX_TRANSFER_BYTES;
    static final int OPTIMAL_TRANSFER_BYTES = 1024 * 1024;
    /** COMPARE AND WRITE buffers compare and write data: keep it modest. */
    static final int MAX_COMPARE_AND_WRITE_BLOCKS = 255;
    /** iscsi-test-cu calls more than 1 Mi blocks per UNMAP insane. */
    static final long MAX_UNMAP_BLOCKS = 1L << 20;
    static final int MAX_UNMAP_DESCRIPTORS = 256;
    /** Below 64 Ki blocks, so WRITE SAME's 4-byte length is tested by refusal rather than a 32 MiB write. */
    static final long MAX_WRITE_SAME_BLOCKS = 0xffff;
    /**
     * Physical block reported to initiators: the logical block. The block store keeps a CRC and an
     * allocation bit per logical block, so nothing is gained by larger alignment, and libiscsi's
     * provisioning tests assume one logical block per physical block.
     */
    static final int PHYSICAL_BLOCK_BYTES = 512;

    private BlockLimits() {
    }
}

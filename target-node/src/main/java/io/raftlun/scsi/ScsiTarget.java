package io.raftlun.scsi;

import java.util.concurrent.CompletableFuture;

/**
 * The SCSI target device behind one iSCSI target: its logical units, REPORT LUNS, unit attentions
 * and reservations. Knows nothing of iSCSI; the transport knows nothing of SBC.
 */
public interface ScsiTarget {

    /** Task management functions that change SCSI state (SAM-5 7). */
    enum Reset { CLEAR_TASK_SET, LOGICAL_UNIT_RESET, TARGET_RESET }

    /**
     * Executes one command. Never completes exceptionally: failures become CHECK CONDITION with
     * sense data. The future may complete on any thread.
     */
    CompletableFuture<ScsiResult> execute(ScsiCommand command);

    /** True if {@code lun} addresses a logical unit of this target. */
    boolean hasLun(long lun);

    /**
     * A task management function from {@code nexus} that resets state: unit attentions for every
     * nexus on every node serving the logical unit, RESERVE(6) released (SPC-4 5.13). Completes
     * when that is done, then the function is complete. Aborting the tasks themselves is the
     * transport's part.
     */
    CompletableFuture<Void> reset(ItNexus nexus, Reset kind, long lun);

    /** A new I_T nexus: it sees a POWER ON, RESET OR BUS DEVICE RESET unit attention first. */
    void nexusOpened(ItNexus nexus);

    /**
     * The nexus is gone (session closed): drop its unit attentions and RESERVE(6) reservations.
     * Completes once every node serving the logical units has released them.
     */
    CompletableFuture<Void> nexusClosed(ItNexus nexus);
}

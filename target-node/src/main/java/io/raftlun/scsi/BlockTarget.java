package io.raftlun.scsi;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A SCSI target of block devices. (Stub: filled in by the SCSI layer.) */
public final class BlockTarget implements ScsiTarget {

    public BlockTarget(List<LogicalUnit> units) {
    }

    @Override
    public CompletableFuture<ScsiResult> execute(ScsiCommand command) {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public boolean hasLun(long lun) {
        return false;
    }

    @Override
    public void reset(ItNexus nexus, Reset kind, long lun) {
    }

    @Override
    public void nexusOpened(ItNexus nexus) {
    }

    @Override
    public void nexusClosed(ItNexus nexus) {
    }
}

package io.raftlun.scsi;

import io.raftlun.volume.BlockVolume;

/** One LUN of a target: a block device over a volume. (Stub: filled in by the SCSI layer.) */
public final class LogicalUnit {

    public LogicalUnit(long lun, BlockVolume volume, LunIdentity identity, boolean readOnly) {
    }
}

package io.raftlun.scsi;

import io.raftlun.volume.BlockVolume;
import java.util.List;

/**
 * The target port groups of a target and their asymmetric access states (SPC-4 5.16, implicit
 * ALUA). In a cluster each node is one group with one port, its portal group tag naming both;
 * the group of the node that leads a volume's Raft group is active/optimized for that volume's
 * logical unit, the others active/non-optimized (they serve I/O by forwarding it).
 */
public interface TargetPortGroups {

    int ACTIVE_OPTIMIZED = 0x0;
    int ACTIVE_NON_OPTIMIZED = 0x1;
    int STANDBY = 0x2;
    int UNAVAILABLE = 0x3;
    int TRANSITIONING = 0xf;

    /** Every group's tag (= its one port's relative target port identifier), in ascending order. */
    List<Integer> groups();

    /** The state of {@code group} for the logical unit backed by {@code volume}. */
    int state(BlockVolume volume, int group);

    /** A target served by one node: one group, always active/optimized. */
    TargetPortGroups SINGLE = new TargetPortGroups() {
        @Override
        public List<Integer> groups() {
            return List.of(1);
        }

        @Override
        public int state(BlockVolume volume, int group) {
            return ACTIVE_OPTIMIZED;
        }
    };
}

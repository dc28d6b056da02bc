package io.raftlun.scsi;

/**
 * The asymmetric access state of a target port group (SPC-4 5.16.2.4). Until ALUA follows Raft
 * leadership, every group is active/optimized.
 */
@FunctionalInterface
public interface AluaStates {

    int ACTIVE_OPTIMIZED = 0x0;
    int ACTIVE_NON_OPTIMIZED = 0x1;
    int STANDBY = 0x2;
    int UNAVAILABLE = 0x3;
    int TRANSITIONING = 0xf;

    /** The state of {@code portGroup} for the logical unit backed by {@code volume}. */
    int state(String volume, int portGroup);

    AluaStates ALL_OPTIMIZED = (volume, group) -> ACTIVE_OPTIMIZED;
}

package io.raftlun.bench;

/** A running iSCSI target the benchmark drives: tgt, or raftlun in one of its shapes. */
interface TargetUnderTest extends AutoCloseable {

    /** Short name for tables: "tgt", "raftlun-rf1", ... */
    String name();

    /** Host and port of the portal. */
    String portal();

    String iqn();

    int lun();

    /** Resident memory of the target's largest process right now (a cluster: its largest node), in bytes. */
    long residentBytes();

    /** CPU time the target's processes have used so far (user and system, all of them), in nanoseconds. */
    long cpuNanos();

    /**
     * CPU time the target's JIT compiler threads have used so far, in nanoseconds: 0 for a target
     * that compiles nothing while it serves (tgt).
     */
    default long compilerNanos() {
        return 0;
    }

    /** The libiscsi URL of the LUN. */
    default String url() {
        return "iscsi://" + portal() + "/" + iqn() + "/" + lun();
    }

    @Override
    void close() throws Exception;
}

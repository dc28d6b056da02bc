package io.raftlun.scsi;

/** Counts the CHECK CONDITIONs a logical unit answered, by sense key (SPC-4 4.5.6), for metrics. */
@FunctionalInterface
public interface SenseCounter {

    SenseCounter NONE = key -> { };

    void checkCondition(int senseKey);
}

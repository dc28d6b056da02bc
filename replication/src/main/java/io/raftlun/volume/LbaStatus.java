package io.raftlun.volume;

/** One LBA status descriptor: a run of blocks that are all mapped or all deallocated. */
public record LbaStatus(long lba, long blocks, boolean mapped) {
}

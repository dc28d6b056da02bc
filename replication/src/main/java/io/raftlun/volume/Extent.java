package io.raftlun.volume;

/** A run of logical blocks. */
public record Extent(long lba, long blocks) {
    public Extent {
        if (lba < 0 || blocks < 0) {
            throw new IllegalArgumentException("negative extent " + lba + "+" + blocks);
        }
    }

    public long end() {
        return lba + blocks;
    }
}

package io.raftlun.blockstore;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** Sizes of data files and block devices (a block device's file size reads as zero in Java). */
public final class Devices {

    private Devices() {
    }

    /** The size of a file or block device, as a backing store offers it. */
    public static long size(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, java.nio.file.StandardOpenOption.READ)) {
            return size(path, channel);
        }
    }

    static long size(Path path, FileChannel channel) throws IOException {
        if (Files.isRegularFile(path)) {
            return channel.size();
        }
        // A block device: /sys/class/block/NAME/size counts 512-byte sectors (NAME after symlinks,
        // so /dev/vg0/lun1 finds dm-3).
        Path real = path.toRealPath();
        Path sectors = Path.of("/sys/class/block", real.getFileName().toString(), "size");
        if (Files.exists(sectors)) {
            return Long.parseLong(Files.readString(sectors).trim()) * 512;
        }
        return channel.size();
    }
}

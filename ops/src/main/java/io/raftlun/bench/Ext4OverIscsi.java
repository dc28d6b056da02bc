package io.raftlun.bench;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The classic recipe as a workload: the LUN attached through libiscsi (qemu-storage-daemon FUSE
 * export), a loop device on it, ext4, then one large file written and fsynced, many small files
 * written and synced once, and small files each written and fsynced. Needs root (losetup, mount).
 *
 * <p>The second spends about a third of its time creating files in the page cache, which no
 * target changes, and syncs them in one burst of a few large writes and flushes; the third waits
 * for the target on every file (about three writes and two SYNCHRONIZE CACHEs each: ext4's journal
 * commit), as a database or a mail spool on the LUN would.
 *
 * @param fsyncedFiles small files written and fsynced one by one
 */
record Ext4OverIscsi(long largeFileBytes, int smallFiles, int fsyncedFiles) implements Workload {

    @Override
    public String name() {
        return "ext4";
    }

    @Override
    public List<Measurement> run(TargetUnderTest target, Path workDir) throws Exception {
        Path image = workDir.resolve("fuse-" + target.name() + ".img");
        Path mountPoint = workDir.resolve("mnt-" + target.name());
        Files.deleteIfExists(image);
        Files.createFile(image);
        Files.createDirectories(mountPoint);
        Process daemon = Processes.start(workDir.resolve("qsd-fuse.log"), List.of("qemu-storage-daemon",
                "--blockdev", "driver=iscsi,node-name=lun,transport=tcp,portal=" + target.portal() + ",target="
                        + target.iqn() + ",lun=" + target.lun(),
                "--export", "type=fuse,id=export,node-name=lun,mountpoint=" + image + ",writable=on"));
        String loop = null;
        boolean mounted = false;
        List<Measurement> results = new ArrayList<>();
        try {
            waitForExport(image);
            loop = Processes.run(Duration.ofSeconds(30), "losetup", "-f", "--show", image.toString()).trim();
            Processes.run(Duration.ofMinutes(5), "mkfs.ext4", "-q", "-F", "-E", "nodiscard", loop);
            Processes.run(Duration.ofSeconds(60), "mount", loop, mountPoint.toString());
            mounted = true;

            long start = System.nanoTime();
            Processes.run(Duration.ofMinutes(10), "dd", "if=/dev/zero", "of=" + mountPoint.resolve("large"),
                    "bs=1M", "count=" + largeFileBytes / (1024 * 1024), "conv=fsync", "status=none");
            double seconds = (System.nanoTime() - start) / 1e9;
            results.add(new Measurement(target.name(), "ext4 large file write+fsync", "MiB/s",
                    largeFileBytes / (1024.0 * 1024.0) / seconds, true));

            Path dir = Files.createDirectories(mountPoint.resolve("small"));
            byte[] content = new byte[4096];
            start = System.nanoTime();
            for (int i = 0; i < smallFiles; i++) {
                content[0] = (byte) i;
                Files.write(dir.resolve("f" + i), content);
            }
            Processes.run(Duration.ofMinutes(5), "sync", "-f", dir.toString());
            seconds = (System.nanoTime() - start) / 1e9;
            results.add(new Measurement(target.name(), "ext4 small files create+sync", "files/s",
                    smallFiles / seconds, true));

            Path fsynced = Files.createDirectories(mountPoint.resolve("fsynced"));
            start = System.nanoTime();
            for (int i = 0; i < fsyncedFiles; i++) {
                content[0] = (byte) i;
                try (FileChannel file = FileChannel.open(fsynced.resolve("f" + i), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
                    file.write(ByteBuffer.wrap(content));
                    file.force(true);
                }
            }
            seconds = (System.nanoTime() - start) / 1e9;
            results.add(new Measurement(target.name(), "ext4 small files, each fsynced", "files/s",
                    fsyncedFiles / seconds, true));
            return results;
        } finally {
            if (mounted) {
                Processes.run(Duration.ofSeconds(60), "umount", mountPoint.toString());
            }
            if (loop != null) {
                Processes.run(Duration.ofSeconds(30), "losetup", "-d", loop);
            }
            try {
                Processes.run(Duration.ofSeconds(30), "umount", image.toString());
            } catch (java.io.IOException alreadyGone) {
                // the daemon unmounts the export when it stops
            }
            Processes.stop(daemon);
        }
    }

    private static void waitForExport(Path image) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (Files.size(image) == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the FUSE export did not appear on " + image);
            }
            Thread.sleep(50);
        }
    }
}

package io.raftlun.recipe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A LUN as a kernel block device, the way the kernel initiator would give one: QEMU's libiscsi
 * driver in qemu-storage-daemon, exported as a FUSE file, with a loop device on it.
 */
public final class AttachedLun implements AutoCloseable {
    private final Path work;
    private final Process daemon;
    private final String device;
    private Path mounted;

    private AttachedLun(Path work, Process daemon, String device) {
        this.work = work;
        this.daemon = daemon;
        this.device = device;
    }

    /** Attaches LUN 1 of {@code iqn} through {@code portal} (HOST:PORT). */
    public static AttachedLun attach(Path work, String portal, String iqn) throws Exception {
        Files.createDirectories(work);
        Path image = work.resolve("lun.img");
        Files.createFile(image);
        Process daemon = new ProcessBuilder("qemu-storage-daemon",
                "--blockdev", "driver=iscsi,node-name=lun,transport=tcp,portal=" + portal + ",target=" + iqn
                        + ",lun=1,cache.direct=on",
                "--export", "type=fuse,id=export,node-name=lun,mountpoint=" + image + ",writable=on")
                .redirectErrorStream(true).redirectOutput(work.resolve("qsd.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (Files.size(image) == 0) {
                if (!daemon.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("qemu-storage-daemon did not export the LUN:\n"
                            + Files.readString(work.resolve("qsd.log")));
                }
                Thread.sleep(100);
            }
            String device = Shell.run("losetup", "-f", "--show", image.toString()).orFail("losetup").output().trim();
            return new AttachedLun(work, daemon, device);
        } catch (Throwable e) {
            daemon.destroy();
            daemon.waitFor(10, TimeUnit.SECONDS);
            throw e;
        }
    }

    public String device() {
        return device;
    }

    public Path mount() throws Exception {
        Path point = work.resolve("mnt");
        Files.createDirectories(point);
        Shell.run("mount", device, point.toString()).orFail("mount");
        mounted = point;
        return point;
    }

    public void unmount() throws Exception {
        if (mounted != null) {
            Shell.run("umount", mounted.toString()).orFail("umount");
            mounted = null;
        }
    }

    @Override
    public void close() throws Exception {
        if (mounted != null) {
            Shell.run("umount", "-l", mounted.toString());
        }
        Shell.run("losetup", "-d", device);
        daemon.destroy();
        if (!daemon.waitFor(15, TimeUnit.SECONDS)) {
            daemon.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}

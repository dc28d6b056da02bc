package io.raftlun.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.node.Node;
import io.raftlun.node.NodeOptions;
import io.raftlun.target.TargetConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classic recipe with real tools against a node: discovery with iscsi-ls; the LUN attached
 * through QEMU's libiscsi (qemu-storage-daemon's FUSE export + losetup gives a kernel block device),
 * mkfs.ext4, mount, files written and fsynced, unmount, e2fsck clean, remount and verify, also after
 * the node restarts. And the doors that must stay shut: a wrong CHAP secret and an initiator outside
 * the ACL are refused at login, and counted.
 */
class ClassicRecipeTest {

    static final String IQN = "iqn.2026-11.io.raftlun:recipe";
    static final String CHAP_IQN = "iqn.2026-11.io.raftlun:chap";
    static final String ACL_IQN = "iqn.2026-11.io.raftlun:acl";
    static final String ALLOWED = "iqn.2026-11.io.raftlun:allowed-client";
    static final String SECRET = "correct-horse-battery";

    @TempDir
    Path dir;

    private Node start(int port) {
        return Node.start(new NodeOptions("recipe", dir.resolve("data"), new InetSocketAddress("127.0.0.1", port),
                new InetSocketAddress("127.0.0.1", 0)));
    }

    /** One open target, as in the classic recipe after {@code tgtadm --op bind -I ALL}. */
    static TargetConfig recipe() {
        TargetConfig.Lun lun = new TargetConfig.Lun(1, "recipe-disk", 256L << 20, 512, null, false);
        return new TargetConfig(List.of(new TargetConfig.Target(1, IQN, "recipe", List.of(lun), List.of("ALL"),
                List.of(), null)), List.of(), List.of());
    }

    /** A target behind CHAP and one bound to a single initiator name. */
    static TargetConfig doors() {
        return new TargetConfig(List.of(
                new TargetConfig.Target(2, CHAP_IQN, null,
                        List.of(new TargetConfig.Lun(1, "chap-disk", 16L << 20, 512, null, false)),
                        List.of("ALL"), List.of("alice"), null),
                new TargetConfig.Target(3, ACL_IQN, null,
                        List.of(new TargetConfig.Lun(1, "acl-disk", 16L << 20, 512, null, false)),
                        List.of(ALLOWED), List.of(), null)),
                List.of(new TargetConfig.Account("alice", SECRET)), List.of());
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void ext4OnALunSurvivesUnmountFsckAndANodeRestart() throws Exception {
        Node node = start(0);
        int port = node.portal().getPort();
        Map<String, String> written;
        try {
            node.catalog().apply(recipe());
            String listing = Shell.run("iscsi-ls", "-s", "iscsi://127.0.0.1:" + port).orFail("iscsi-ls").output();
            assertTrue(listing.contains("Target:" + IQN) && listing.contains("Lun:1"), listing);
            try (AttachedLun disk = AttachedLun.attach(dir.resolve("fuse"), port, IQN)) {
                Shell.run("mkfs.ext4", "-q", "-F", disk.device()).orFail("mkfs.ext4");
                Path mount = disk.mount();
                written = writeFiles(mount);
                disk.unmount();
                Shell.run("e2fsck", "-fn", disk.device()).orFail("e2fsck after unmount");
                assertEquals(written, checksums(disk.mount()));
                disk.unmount();
            }
        } finally {
            node.close();
        }
        Node restarted = start(port);
        try (AttachedLun disk = AttachedLun.attach(dir.resolve("fuse2"), port, IQN)) {
            Shell.run("e2fsck", "-fn", disk.device()).orFail("e2fsck after the node restarted");
            assertEquals(written, checksums(disk.mount()), "files read back after the node restarted");
            disk.unmount();
        } finally {
            restarted.close();
        }
    }

    /** A big file and many small ones, each fsynced; their SHA-256 by name. */
    private static Map<String, String> writeFiles(Path mount) throws Exception {
        Random random = new Random(42);
        Map<String, String> sums = new LinkedHashMap<>();
        byte[] big = new byte[24 << 20];
        random.nextBytes(big);
        sums.put("big.bin", write(mount.resolve("big.bin"), big));
        Files.createDirectories(mount.resolve("small"));
        for (int i = 0; i < 300; i++) {
            byte[] small = new byte[random.nextInt(16 << 10) + 1];
            random.nextBytes(small);
            sums.put("small/" + i, write(mount.resolve("small/" + i), small));
        }
        return sums;
    }

    private static String write(Path file, byte[] data) throws Exception {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.write(java.nio.ByteBuffer.wrap(data));
            channel.force(true);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static Map<String, String> checksums(Path mount) throws Exception {
        Map<String, String> sums = new LinkedHashMap<>();
        sums.put("big.bin", sha256(mount.resolve("big.bin")));
        for (int i = 0; i < 300; i++) {
            sums.put("small/" + i, sha256(mount.resolve("small/" + i)));
        }
        return sums;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void wrongChapSecretAndInitiatorsOutsideTheAclAreRefusedAtLogin() throws Exception {
        try (Node node = start(0)) {
            node.catalog().apply(doors());
            String portal = "127.0.0.1:" + node.portal().getPort();

            Shell.Result wrongSecret = Shell.run("iscsi-inq", "iscsi://alice%wrong-secret-here@" + portal + "/"
                    + CHAP_IQN + "/1");
            assertNotEquals(0, wrongSecret.exitCode(), wrongSecret.output());
            assertTrue(wrongSecret.output().toLowerCase().contains("auth"), wrongSecret.output());
            Shell.Result noSecret = Shell.run("iscsi-inq", "iscsi://" + portal + "/" + CHAP_IQN + "/1");
            assertNotEquals(0, noSecret.exitCode(), noSecret.output());
            Shell.run("iscsi-inq", "iscsi://alice%" + SECRET + "@" + portal + "/" + CHAP_IQN + "/1")
                    .orFail("login with the right CHAP secret");

            Shell.Result outsider = Shell.run("iscsi-inq", "-i", "iqn.2026-11.io.raftlun:outsider",
                    "iscsi://" + portal + "/" + ACL_IQN + "/1");
            assertNotEquals(0, outsider.exitCode(), outsider.output());
            assertTrue(outsider.output().toLowerCase().contains("authoriz"), outsider.output());
            Shell.run("iscsi-inq", "-i", ALLOWED, "iscsi://" + portal + "/" + ACL_IQN + "/1")
                    .orFail("login of the initiator the ACL names");

            String metrics = scrape(node);
            assertTrue(counter(metrics, "raftlun_iscsi_logins_total", "auth") >= 2, metrics);
            assertTrue(counter(metrics, "raftlun_iscsi_logins_total", "acl") >= 1, metrics);
            assertTrue(counter(metrics, "raftlun_iscsi_logins_total", "success") >= 2, metrics);
        }
    }

    private String scrape(Node node) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + node.adminAddress().getPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.body();
    }

    private static double counter(String metrics, String name, String result) {
        return metrics.lines().filter(l -> l.startsWith(name + "{") && l.contains("result=\"" + result + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /**
     * A LUN as a kernel block device, the way the kernel initiator would give one: QEMU's libiscsi
     * driver in qemu-storage-daemon, exported as a FUSE file, with a loop device on it.
     */
    static final class AttachedLun implements AutoCloseable {
        private final Path work;
        private final Process daemon;
        private final String device;
        private Path mounted;

        private AttachedLun(Path work, Process daemon, String device) {
            this.work = work;
            this.daemon = daemon;
            this.device = device;
        }

        static AttachedLun attach(Path work, int port, String iqn) throws Exception {
            Files.createDirectories(work);
            Path image = work.resolve("lun.img");
            Files.createFile(image);
            Process daemon = new ProcessBuilder("qemu-storage-daemon",
                    "--blockdev", "driver=iscsi,node-name=lun,transport=tcp,portal=127.0.0.1:" + port + ",target=" + iqn
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

        String device() {
            return device;
        }

        Path mount() throws Exception {
            Path point = work.resolve("mnt");
            Files.createDirectories(point);
            Shell.run("mount", device, point.toString()).orFail("mount");
            mounted = point;
            return point;
        }

        void unmount() throws Exception {
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
}

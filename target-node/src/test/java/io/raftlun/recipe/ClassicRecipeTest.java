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
import java.time.Duration;
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
 * the node restarts (the first node's portal busy-polls for commands, the restarted one's sleeps
 * between them: both serve a real file system). And the doors that must stay shut: a wrong CHAP
 * secret and an initiator outside the ACL are refused at login, and counted.
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
        return start(port, Duration.ZERO);
    }

    private Node start(int port, Duration busyPoll) {
        return Node.start(new NodeOptions("recipe", dir.resolve("data"), new InetSocketAddress("127.0.0.1", port),
                new InetSocketAddress("127.0.0.1", 0), null, null, true, busyPoll));
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
        Node node = start(0, Duration.ofNanos(50_000)); // the portal polling for commands, then sleeping
        int port = node.portal().getPort();
        Map<String, String> written;
        try {
            node.catalog().apply(recipe());
            String listing = Shell.run("iscsi-ls", "-s", "iscsi://127.0.0.1:" + port).orFail("iscsi-ls").output();
            assertTrue(listing.contains("Target:" + IQN) && listing.contains("Lun:1"), listing);
            try (AttachedLun disk = AttachedLun.attach(dir.resolve("fuse"), "127.0.0.1:" + port, IQN)) {
                Shell.run("mkfs.ext4", "-q", "-F", disk.device()).orFail("mkfs.ext4");
                Path mount = disk.mount();
                written = Ext4Files.write(mount);
                disk.unmount();
                Shell.run("e2fsck", "-fn", disk.device()).orFail("e2fsck after unmount");
                assertEquals(written, Ext4Files.checksums(disk.mount()));
                disk.unmount();
            }
        } finally {
            node.close();
        }
        Node restarted = start(port);
        try (AttachedLun disk = AttachedLun.attach(dir.resolve("fuse2"), "127.0.0.1:" + port, IQN)) {
            Shell.run("e2fsck", "-fn", disk.device()).orFail("e2fsck after the node restarted");
            assertEquals(written, Ext4Files.checksums(disk.mount()), "files read back after the node restarted");
            disk.unmount();
        } finally {
            restarted.close();
        }
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
}

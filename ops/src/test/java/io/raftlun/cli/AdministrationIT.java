package io.raftlun.cli;

import static io.raftlun.cli.LocalClusterIT.freePort;
import static io.raftlun.cli.LocalClusterIT.raftlun;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.cli.LocalClusterIT.Run;
import io.raftlun.recipe.AluaProbe;
import io.raftlun.recipe.AttachedLun;
import io.raftlun.recipe.Ext4Files;
import io.raftlun.recipe.Shell;
import io.raftlun.target.ConfigFiles;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Administration as an operator types it, against three node processes started by
 * {@code raftlun cluster up}: the classic recipe's tgtadm commands unchanged, the native commands,
 * a tgt targets.conf, online growth seen by initiators on every node, and mistakes refused in one
 * line with a meaningful exit status and nothing changed. Each test uses its own target (tid 1 to
 * 3; the import, last, takes the next free tids).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdministrationIT {

    static final String RECIPE_IQN = "iqn.2026-11.com.example:recipe";

    @TempDir
    static Path dir;
    static int port;
    static int adminPort;

    @BeforeAll
    static void clusterUp() throws Exception {
        port = freePort();
        adminPort = freePort();
        Run up = raftlun("cluster", "up", "--nodes", "3", "--dir", dir.toString(), "--port", Integer.toString(port),
                "--admin-port", Integer.toString(adminPort), "--raft-port", Integer.toString(freePort()));
        assertEquals(0, up.exitCode(), up.output());
    }

    @AfterAll
    static void clusterDown() throws Exception {
        raftlun("cluster", "down", "--dir", dir.toString());
    }

    /** raftlun with the cluster found through RAFTLUN_DIR, as an operator's shell would have it. */
    static Run admin(String... arguments) throws Exception {
        return raftlun(Map.of("RAFTLUN_DIR", dir.toString()), arguments);
    }

    static Run tgtadm(String line) throws Exception {
        List<String> arguments = new ArrayList<>(List.of("tgtadm"));
        arguments.addAll(List.of(line.trim().split("\\s+")));
        return admin(arguments.toArray(String[]::new));
    }

    static String url(int node, String iqn) {
        return "iscsi://127.0.0." + node + ":" + port + "/" + iqn + "/1";
    }

    @Test
    @Order(1)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void theClassicRecipesTgtadmCommandsMakeATargetThatIscsiLsFindsAndExt4Uses() throws Exception {
        Path backing = dir.resolve("recipe.img"); // as the recipe's dd would make it
        try (RandomAccessFile file = new RandomAccessFile(backing.toFile(), "rw")) {
            file.setLength(128L << 20);
        }
        for (String line : List.of(
                "--lld iscsi --op new --mode target --tid 1 -T " + RECIPE_IQN,
                "--lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b " + backing,
                "--lld iscsi --op bind --mode target --tid 1 -I ALL")) {
            Run run = tgtadm(line);
            assertEquals(0, run.exitCode(), "tgtadm " + line + ":\n" + run.output());
            assertEquals("", run.output(), "tgtadm says nothing when it succeeds");
        }
        Run show = tgtadm("--lld iscsi --op show --mode target");
        assertEquals(0, show.exitCode(), show.output());
        assertTrue(show.output().contains("Target 1: " + RECIPE_IQN) && show.output().contains("LUN: 1")
                && show.output().contains("Size: 134 MB") && show.output().contains("Block size: 512")
                && show.output().contains("ACL information:\n        ALL")
                && show.output().contains("Replicas: node") && show.output().contains("Health: healthy"),
                show.output());

        String listing = Shell.run("iscsi-ls", "-s", "iscsi://127.0.0.2:" + port).orFail("iscsi-ls").output();
        assertTrue(listing.contains("Target:" + RECIPE_IQN) && listing.contains("Lun:1"), listing);
        try (AttachedLun disk = AttachedLun.attach(dir.resolve("fuse"), "127.0.0.3:" + port, RECIPE_IQN)) {
            Shell.run("mkfs.ext4", "-q", "-F", disk.device()).orFail("mkfs.ext4");
            Map<String, String> written = Ext4Files.write(disk.mount());
            Run nexus = tgtadm("--lld iscsi --op show --mode target --tid 1"); // asks node1: the session is on node3
            assertTrue(nexus.output().contains("I_T nexus: 1") && nexus.output().contains("Node: node3")
                    && nexus.output().contains("IP Address: 127.0.0."), nexus.output());
            disk.unmount();
            Shell.run("e2fsck", "-fn", disk.device()).orFail("e2fsck after unmount");
            assertEquals(written, Ext4Files.checksums(disk.mount()));
            disk.unmount();
        }
    }

    @Test
    @Order(3)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void growThroughOneNodeIsSeenByInitiatorsOnEveryNode() throws Exception {
        String iqn = "iqn.2026-11.com.example:grow";
        for (String[] command : List.of(new String[] {"target", "new", "3", iqn},
                new String[] {"lun", "new", "3", "1", "--size", "16M"}, new String[] {"target", "bind", "3", "ALL"})) {
            Run run = admin(command);
            assertEquals(0, run.exitCode(), String.join(" ", command) + ":\n" + run.output());
        }
        AluaProbe probe = AluaProbe.build(dir);
        List<AluaProbe.Watch> watches = new ArrayList<>();
        try {
            for (int node = 1; node <= 3; node++) {
                AluaProbe.Watch watch = probe.waitForCapacityChange(url(node, iqn), 60);
                watch.before(); // logged in, its power-on unit attention taken
                watches.add(watch);
            }
            Run grow = raftlun("lun", "grow", "3", "1", "48M", "--node", "127.0.0.2:" + adminPort, "--token-file",
                    dir.resolve("admin.token").toString());
            assertEquals(0, grow.exitCode(), grow.output());
            for (int node = 1; node <= 3; node++) {
                assertEquals((48L << 20) / 512, watches.get(node - 1).capacity(),
                        "READ CAPACITY after the unit attention, through node " + node);
            }
        } finally {
            watches.forEach(AluaProbe.Watch::close);
        }
        // every replica has the new blocks: written through one node, read through the others
        Shell.run("qemu-io", "-f", "raw", "-c", "write -P 0x6b 40M 1M", url(3, iqn)).orFail("write beyond the old end");
        for (int node = 1; node <= 2; node++) {
            Shell.Result read = Shell.run("qemu-io", "-f", "raw", "-c", "read -P 0x6b 40M 1M", url(node, iqn));
            assertTrue(read.output().contains("read 1048576/1048576") && !read.output().contains("verification failed"),
                    read.output());
        }
        Run shrink = admin("lun", "grow", "3", "1", "16M");
        assertEquals(1, shrink.exitCode(), shrink.output());
        assertTrue(shrink.output().contains("shrinking is refused"), shrink.output());
    }

    /** The targets, LUNs, ACLs and accounts the cluster holds, without what moves on its own (Raft indexes, sessions). */
    static Object config() throws Exception {
        Run show = admin("target", "show", "--output", "json");
        assertEquals(0, show.exitCode(), show.output());
        return withoutMovingParts(ConfigFiles.JSON.readValue(show.output(), Map.class));
    }

    private static Object withoutMovingParts(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<Object, Object> kept = new java.util.TreeMap<>();
            map.forEach((key, v) -> {
                if (!List.of("commitIndex", "appliedIndex", "leader", "lag", "health", "sessions", "node", "unreachable").contains(key)) {
                    kept.put(key, withoutMovingParts(v));
                }
            });
            return kept;
        }
        if (value instanceof List<?> list) {
            return list.stream().map(AdministrationIT::withoutMovingParts).toList();
        }
        return value;
    }

    @Test
    @Order(2)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void mistakesAreRefusedInOneLineWithAMeaningfulStatusAndChangeNothing() throws Exception {
        String iqn = "iqn.2026-11.com.example:mistakes";
        Path secret = dir.resolve("alice.secret");
        Files.writeString(secret, "alice-secret-12\n");
        for (String[] command : List.of(new String[] {"target", "new", "2", iqn},
                new String[] {"lun", "new", "2", "1", "--size", "8M"}, new String[] {"target", "bind", "2", "ALL"},
                new String[] {"account", "new", "alice", "--password-file", secret.toString()},
                new String[] {"account", "bind", "2", "alice"})) {
            Run run = admin(command);
            assertEquals(0, run.exitCode(), String.join(" ", command) + ":\n" + run.output());
        }
        Shell.Result wrongSecret = Shell.run("iscsi-inq", "iscsi://alice%not-the-secret@127.0.0.1:" + port + "/" + iqn + "/1");
        assertNotEquals(0, wrongSecret.exitCode(), wrongSecret.output());
        Shell.run("iscsi-inq", "iscsi://alice%alice-secret-12@127.0.0.1:" + port + "/" + iqn + "/1")
                .orFail("login with the bound CHAP account");

        Object before = config();
        Path badConf = dir.resolve("bad-targets.conf");
        Files.writeString(badConf, "<target iqn.2026-11.com.example:conf-good>\n    backing-store " + secret
                + "\n</target>\n<target iqn.2026-11.com.example:conf-bad>\n    frobnicate yes\n</target>\n");
        String unreachable = "127.0.0.1:" + freePort();
        Path wrongToken = dir.resolve("wrong.token");
        Files.writeString(wrongToken, "0123456789abcdef\n");
        record Mistake(int status, String says, String... command) {
        }
        for (Mistake m : List.of(
                new Mistake(1, "already exists: tid 2", "tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "target",
                        "--tid", "2", "-T", "iqn.2026-11.com.example:another"),
                new Mistake(1, "not an iSCSI name", "tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "target",
                        "--tid", "9", "-T", "iqn.not a name"),
                new Mistake(1, "no target with tid 9", "tgtadm", "--lld", "iscsi", "--op", "bind", "--mode", "target",
                        "--tid", "9", "-I", "ALL"),
                new Mistake(1, "no target with tid 9", "target", "delete", "9"),
                new Mistake(1, "multiple of the 512-byte block size", "lun", "new", "2", "2", "--size", "1000"),
                new Mistake(1, "already exists: LUN 1", "lun", "new", "2", "1", "--size", "1M"),
                new Mistake(1, "does not exist", "tgtadm", "--lld", "iscsi", "--op", "new", "--mode", "logicalunit",
                        "--tid", "2", "--lun", "2", "-b", "/no/such/file"),
                new Mistake(1, "shrinking is refused", "lun", "grow", "2", "1", "4M"),
                new Mistake(1, "can't find the account bob", "account", "bind", "2", "bob"),
                new Mistake(1, "neither ALL", "target", "bind", "2", "not/an/initiator"),
                new Mistake(1, "unknown setting 'frobnicate'", "target", "import", badConf.toString()),
                new Mistake(3, "unreachable", "target", "new", "5", "iqn.2026-11.com.example:five", "--node", unreachable,
                        "--token-file", wrongToken.toString()),
                new Mistake(4, "wrong admin token", "target", "new", "5", "iqn.2026-11.com.example:five", "--node",
                        "127.0.0.1:" + adminPort, "--token-file", wrongToken.toString()),
                new Mistake(4, "wrong admin token", "target", "show", "--token-file", wrongToken.toString()),
                new Mistake(2, "Missing required option", "tgtadm", "--op", "new"))) {
            Run run = admin(m.command());
            String what = String.join(" ", m.command()) + ":\n" + run.output();
            assertEquals(m.status(), run.exitCode(), what);
            List<String> lines = run.output().strip().lines().toList();
            assertEquals(1, lines.size(), "one line: " + what);
            assertTrue(lines.get(0).startsWith("raftlun: ") && lines.get(0).contains(m.says()), what);
            assertFalse(run.output().contains("\tat "), what);
        }
        assertEquals(before, config(), "the refused commands changed nothing");
    }

    @Test
    @Order(4)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aTgtTargetsConfBecomesTargetsWithLunsAclsAndAccounts() throws Exception {
        Path disk = dir.resolve("conf-disk.img");
        try (RandomAccessFile file = new RandomAccessFile(disk.toFile(), "rw")) {
            file.setLength(32L << 20);
        }
        Path conf = dir.resolve("targets.conf");
        Files.writeString(conf, """
                # as tgt-admin reads it
                default-driver iscsi
                <target iqn.2026-11.com.example:conf-open>
                    backing-store %s
                </target>
                <target iqn.2026-11.com.example:conf-chap>
                    <backing-store %s>
                        lun 3
                        write-cache off
                    </backing-store>
                    initiator-address 127.0.0.0/8
                    incominguser carol carol-secret-123
                </target>
                """.formatted(disk, disk));
        Run imported = admin("target", "import", conf.toString());
        assertEquals(0, imported.exitCode(), imported.output());
        assertTrue(imported.output().contains("2 target(s) imported"), imported.output());
        Run show = admin("target", "show");
        assertTrue(show.output().contains(": iqn.2026-11.com.example:conf-open")
                && show.output().contains(": iqn.2026-11.com.example:conf-chap")
                && show.output().contains("LUN: 3") && show.output().contains("127.0.0.0/8")
                && show.output().contains("        carol"), show.output());
        Shell.run("iscsi-inq", "iscsi://carol%carol-secret-123@127.0.0.2:" + port
                + "/iqn.2026-11.com.example:conf-chap/3").orFail("login to the imported CHAP target");
        Run again = admin("target", "import", conf.toString());
        assertEquals(1, again.exitCode(), "importing twice names the same targets twice:\n" + again.output());
    }

    @Test
    @Order(5)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void statusThroughAnyNodeShowsEveryNodeAndADegradedVolumeStandsOut() throws Exception {
        String[] status = {"cluster", "status", "--node", "127.0.0.3:" + adminPort, "--token-file",
            dir.resolve("admin.token").toString()};
        Run healthy = raftlun(status);
        assertEquals(0, healthy.exitCode(), healthy.output());
        assertTrue(healthy.output().contains("node1    up") && healthy.output().contains("node3    up")
                && healthy.output().contains("version 0.1.0") && healthy.output().contains(", sessions ")
                && healthy.output().contains("healthy") && !healthy.output().contains("DEGRADED"), healthy.output());

        LocalClusterIT.kill(dir, 3);
        Run degraded = null;
        for (int attempt = 0; attempt < 20; attempt++) { // the leader misses node3 within two RPC timeouts
            degraded = raftlun(status[0], status[1], "--node", "127.0.0.1:" + adminPort, status[4], status[5]);
            if (degraded.output().contains("DEGRADED")) {
                break;
            }
            Thread.sleep(500);
        }
        assertEquals(1, degraded.exitCode(), degraded.output());
        assertTrue(degraded.output().contains("node3    unreachable") && degraded.output().contains("DEGRADED !")
                && degraded.output().contains("down [node3]"), degraded.output());
    }
}

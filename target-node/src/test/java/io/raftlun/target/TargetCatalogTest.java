package io.raftlun.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.iscsi.TargetDirectory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetCatalogTest {

    static final String IQN = "iqn.2026-11.io.raftlun:test";

    @TempDir
    Path dir;

    static TargetConfig.Target target(List<String> initiators, TargetConfig.Lun... luns) {
        return new TargetConfig.Target(1, IQN, "alias", List.of(luns), initiators, List.of(), null);
    }

    static TargetConfig.Lun lun(int number, String volume) {
        return new TargetConfig.Lun(number, volume, 64L << 20, 512, null, false);
    }

    @Test
    void targetsAndVolumesSurviveARestart() {
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), () -> List.of("127.0.0.1:3260,1"));
            catalog.apply(TargetConfig.empty().with(target(List.of("ALL"), lun(1, "v1"), lun(2, "v2"))));
            assertNotNull(storage.volume("v1"));
            assertNotNull(storage.volume("v2"));
        }
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), () -> List.of("127.0.0.1:3260,1"));
            TargetDirectory.IscsiTarget served = catalog.find(IQN).orElseThrow();
            assertEquals(1, served.tid());
            assertTrue(served.scsi().hasLun(1));
            assertTrue(served.scsi().hasLun(2));
        }
    }

    @Test
    void removingALunKeepsItsVolume() {
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of);
            catalog.apply(TargetConfig.empty().with(target(List.of("ALL"), lun(1, "v1"), lun(2, "v2"))));
            catalog.update(c -> c.with(target(List.of("ALL"), lun(1, "v1"))));
            TargetDirectory.IscsiTarget served = catalog.find(IQN).orElseThrow();
            assertFalse(served.scsi().hasLun(2));
            assertNotNull(storage.volume("v2"), "the data of a removed LUN stays");
        }
    }

    @Test
    void badConfigIsRefusedWholeWithEveryProblemNamed() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of);
            TargetConfig bad = new TargetConfig(List.of(new TargetConfig.Target(0, "not-an-iqn", null,
                    List.of(lun(1, "v1"), new TargetConfig.Lun(1, "v2", 1000, 512, null, false)),
                    List.of("ALL", "10.0.0.0/99"), List.of("nobody"), null)),
                    List.of(new TargetConfig.Account("alice", "short")), List.of());
            ConfigException refused = assertThrows(ConfigException.class, () -> catalog.apply(bad));
            for (String expected : List.of("start at 1", "not an iSCSI name", "LUN 1 is defined twice",
                    "positive multiple of 512", "10.0.0.0/99", "no account named nobody", "12 to 255")) {
                assertTrue(refused.getMessage().contains(expected), expected + " in: " + refused.getMessage());
            }
            assertTrue(storage.volumes().isEmpty(), "nothing was created");
            assertFalse(Files.exists(dir.resolve("targets.json")));
        }
    }

    @Test
    void aclsMatchAddressesNetworksNamesAndAll() throws Exception {
        InetAddress inside = InetAddress.getByName("192.168.7.20");
        InetAddress outside = InetAddress.getByName("192.168.8.20");
        String name = "iqn.1994-05.com.redhat:client";
        assertTrue(Acl.admits(List.of("ALL"), "iqn.x:y", outside));
        assertTrue(Acl.admits(List.of("192.168.7.0/24"), "iqn.x:y", inside));
        assertFalse(Acl.admits(List.of("192.168.7.0/24"), "iqn.x:y", outside));
        assertTrue(Acl.admits(List.of("192.168.8.20"), "iqn.x:y", outside));
        assertTrue(Acl.admits(List.of(name), name, outside));
        assertFalse(Acl.admits(List.of(name), "iqn.1994-05.com.redhat:other", outside));
        assertFalse(Acl.admits(List.of(), name, inside), "no binding admits no one, as in tgt");
        assertTrue(Acl.valid("fe80::1/64"));
        assertFalse(Acl.valid("example.com"), "host names are not looked up");
    }
}

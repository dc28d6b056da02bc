package io.raftlun.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.iscsi.TargetDirectory;
import io.raftlun.scsi.TargetPortGroups;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.MemoryVolume;
import io.raftlun.volume.reservation.ReservationCommand;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
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
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), () -> List.of("127.0.0.1:3260,1"), 1);
            catalog.apply(TargetConfig.empty().with(target(List.of("ALL"), lun(1, "v1"), lun(2, "v2"))));
            assertNotNull(storage.volume("v1"));
            assertNotNull(storage.volume("v2"));
        }
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), () -> List.of("127.0.0.1:3260,1"), 1);
            TargetDirectory.IscsiTarget served = catalog.find(IQN).orElseThrow();
            assertEquals(1, served.tid());
            assertTrue(served.scsi().hasLun(1));
            assertTrue(served.scsi().hasLun(2));
        }
    }

    @Test
    void removingALunKeepsItsVolume() {
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of, 1);
            catalog.apply(TargetConfig.empty().with(target(List.of("ALL"), lun(1, "v1"), lun(2, "v2"))));
            catalog.update(c -> c.with(target(List.of("ALL"), lun(1, "v1"))));
            TargetDirectory.IscsiTarget served = catalog.find(IQN).orElseThrow();
            assertFalse(served.scsi().hasLun(2));
            assertNotNull(storage.volume("v2"), "the data of a removed LUN stays");
        }
    }

    @Test
    void aLoneNodesLunGrowsOnlineKeepsItsDataAndItsSizeAcrossARestart() throws Exception {
        TargetChange grow = TargetChange.growLun(1, 1, 128L << 20);
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of, 1);
            catalog.apply(TargetConfig.empty().with(target(List.of("ALL"), lun(1, "v1"))));
            BlockVolume served = ((io.raftlun.scsi.BlockTarget) catalog.find(IQN).orElseThrow().scsi()).unit(1).volume();
            served.write(0, io.netty.buffer.Unpooled.wrappedBuffer(new byte[512]).setByte(0, 0x5a), false).get();
            catalog.update(grow::applyTo);
            assertEquals((128L << 20) / 512, served.blockCount(), "the LUN initiators use now reports the new size");
            served.write((100L << 20) / 512, io.netty.buffer.Unpooled.wrappedBuffer(new byte[512]), false).get();
            var first = served.read(0, 1).get();
            assertEquals(0x5a, first.getByte(0));
            first.release();
        }
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            assertEquals(128L << 20, storage.volume("v1").sizeBytes());
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of, 1);
            assertEquals(128L << 20, catalog.config().target(1).orElseThrow().lun(1).orElseThrow().sizeBytes());
        }
    }

    @Test
    void badConfigIsRefusedWholeWithEveryProblemNamed() throws Exception {
        try (NodeStorage storage = NodeStorage.open(dir.resolve("data"))) {
            TargetCatalog catalog = TargetCatalog.open(storage, dir.resolve("targets.json"), List::of, 1);
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

    /**
     * A node coming back: the sessions through its port are gone, so a RESERVE(6) one of them held
     * is released when the LUN opens there; one held through another node's port stays.
     */
    @Test
    void aLunOpeningReleasesTheReserve6HeldThroughThisNodesPortOnly() {
        MemoryVolume volume = new MemoryVolume("v1", 1024, 512);
        String initiator = "iqn.2026-11.test:host,i,0x000000000001";
        String throughNode2 = initiator + "|" + IQN + ",t,0x0002";
        volume.reserve(ReservationCommand.reserve6(throughNode2, initiator, 2)).join();
        TargetStore holdingVolume = new TargetStore() {
            Versioned current;

            @Override
            public Versioned current() {
                return current;
            }

            @Override
            public Versioned update(UnaryOperator<TargetConfig> change, UnaryOperator<TargetConfig> check) {
                current = new Versioned(check.apply(change.apply(TargetConfig.empty())), 1);
                return current;
            }

            @Override
            public BlockVolume open(TargetConfig.Lun lun) {
                return volume;
            }
        };

        new TargetCatalog(holdingVolume, List::of, TargetPortGroups.SINGLE, 3).apply(TargetConfig.empty().with(target(List.of("ALL"),
                lun(1, "v1"))));
        assertEquals(throughNode2, volume.reservations().view().reserve6Holder(), "node 3 opening changes nothing");

        new TargetCatalog(holdingVolume, List::of, TargetPortGroups.SINGLE, 2); // node 2 starts and serves the stored config
        assertNull(volume.reservations().view().reserve6Holder(), "node 2 back: its old session's RESERVE(6) went");
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

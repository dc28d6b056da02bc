package io.raftlun.target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TargetChangeTest {

    static final String IQN = "iqn.2026-11.com.example:disk1";

    /** The classic recipe's tgtadm commands, in order, plus a mutual CHAP pair. */
    static TargetConfig recipe() {
        return TargetChange.applyAll(List.of(
                TargetChange.newTarget(1, IQN),
                TargetChange.newLun(1, 1, 64L << 20, null),
                TargetChange.bind(1, "ALL"),
                TargetChange.newAccount("alice", "alice-secret-12"),
                TargetChange.newAccount("target", "target-secret-12"),
                TargetChange.bindAccount(1, "alice", false),
                TargetChange.bindAccount(1, "target", true)), TargetConfig.empty());
    }

    @Test
    void theClassicRecipeMakesASoundOpenTargetWithOneLun() {
        TargetConfig config = recipe();
        assertEquals(List.of(), config.problems());
        TargetConfig.Target target = config.target(1).orElseThrow();
        assertEquals(IQN, target.iqn());
        assertEquals(List.of("ALL"), target.initiators());
        assertEquals(64L << 20, target.lun(1).orElseThrow().sizeBytes());
        assertTrue(target.lun(1).orElseThrow().volume().startsWith("vol-"));
        assertEquals(List.of("alice"), target.incomingUsers());
        assertEquals("target", target.outgoingUser());
    }

    @Test
    void badChangesAreRefusedWithOneLineNamingTheProblem() {
        TargetConfig config = recipe();
        record Case(TargetChange change, String says) {
        }
        for (Case c : List.of(
                new Case(TargetChange.newTarget(1, "iqn.2026-11.com.example:other"), "already exists: tid 1"),
                new Case(TargetChange.newTarget(2, IQN), "already exists as target 1"),
                new Case(TargetChange.newTarget(2, "not-an-iqn"), "is not an iSCSI name"),
                new Case(TargetChange.deleteTarget(7), "no target with tid 7"),
                new Case(TargetChange.newLun(7, 1, 1L << 20, null), "no target with tid 7"),
                new Case(TargetChange.newLun(1, 1, 1L << 20, null), "already exists: LUN 1"),
                new Case(TargetChange.newLun(1, 2, 1000L, null), "multiple of the 512-byte block size"),
                new Case(TargetChange.newLun(1, 2, null, null), "needs a size"),
                new Case(TargetChange.growLun(1, 1, 32L << 20), "shrinking is refused"),
                new Case(TargetChange.growLun(1, 1, (64L << 20) + 100), "multiple of the 512-byte"),
                new Case(TargetChange.deleteLun(1, 9), "has no LUN 9"),
                new Case(TargetChange.bind(1, "ALL"), "already bound"),
                new Case(TargetChange.bind(1, "no such thing!"), "neither ALL"),
                new Case(TargetChange.unbind(1, null), "needs -I"),
                new Case(TargetChange.newAccount("alice", "another-secret"), "account alice already exists"),
                new Case(TargetChange.bindAccount(1, "bob", false), "can't find the account bob"),
                new Case(TargetChange.bindAccount(1, "alice", true), "already has the outgoing account"),
                new Case(new TargetChange("frobnicate", "target", 1, null, null, null, null, null, null, null, null,
                        null, null), "unknown operation"))) {
            ConfigException refused = assertThrows(ConfigException.class, () -> c.change().applyTo(config),
                    c.change().toString());
            assertTrue(refused.getMessage().contains(c.says()), c.change() + " -> " + refused.getMessage());
            assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
        }
        assertEquals(recipe().targets().get(0).initiators(), config.targets().get(0).initiators());
    }

    @Test
    void aSecretTooShortIsCaughtWhenTheConfigIsCheckedWhole() {
        TargetConfig next = TargetChange.newAccount("bob", "short").applyTo(recipe());
        assertTrue(next.problems().stream().anyMatch(p -> p.contains("12 to 255 characters")), next.problems().toString());
    }

    @Test
    void growingKeepsTheVolumeAndDeletingAnAccountUnbindsIt() {
        TargetConfig config = recipe();
        String volume = config.target(1).orElseThrow().lun(1).orElseThrow().volume();
        TargetConfig grown = TargetChange.growLun(1, 1, 128L << 20).applyTo(config);
        TargetConfig.Lun lun = grown.target(1).orElseThrow().lun(1).orElseThrow();
        assertEquals(128L << 20, lun.sizeBytes());
        assertEquals(volume, lun.volume());

        TargetConfig without = TargetChange.deleteAccount("target").applyTo(config);
        assertNull(without.target(1).orElseThrow().outgoingUser());
        assertEquals(List.of(), without.problems());
    }

    @Test
    void aChangeSummarisesItselfWithoutItsSecret() {
        assertEquals("bind target 2 ALL", TargetChange.bind(2, "ALL").summary());
        assertEquals("update logicalunit 1 of target 2 to 2048 bytes", TargetChange.growLun(2, 1, 2048).summary());
        assertEquals("new account alice", TargetChange.newAccount("alice", "alice-secret-12").summary());
        assertEquals("bind account alice on target 2 (outgoing)", TargetChange.bindAccount(2, "alice", true).summary());
    }
}

package io.raftlun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.node.Node;
import org.junit.jupiter.api.Test;

class SizesTest {

    @Test
    void sizesAsAdministratorsTypeThem() {
        assertEquals(1L << 30, Sizes.parse("1G"));
        assertEquals(1L << 30, Sizes.parse("1GiB"));
        assertEquals(512L << 20, Sizes.parse("512m"));
        assertEquals(1073741824L, Sizes.parse("1073741824"));
        assertEquals(2L << 40, Sizes.parse("2T"));
        assertEquals("1 GiB", Sizes.format(1L << 30));
        assertEquals("1.5 MiB", Sizes.format(3L << 19));
    }

    @Test
    void nonsenseIsRefusedWithTheReason() {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> Sizes.parse("10Q"));
        assertTrue(refused.getMessage().contains("not a size"), refused.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("99999999P"));
    }

    @Test
    void addressesWithDefaultPorts() {
        assertEquals(3260, Addresses.parse("127.0.0.1", 3260).getPort());
        assertEquals(3261, Addresses.parse("127.0.0.1:3261", 3260).getPort());
        assertEquals("[0:0:0:0:0:0:0:1]:3261", Node.portalName(Addresses.parse("[::1]:3261", 3260)));
        assertThrows(IllegalArgumentException.class, () -> Addresses.parse("127.0.0.1:99999", 3260));
    }
}

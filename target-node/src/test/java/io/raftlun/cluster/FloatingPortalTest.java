package io.raftlun.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a holder of the floating portal records of its initiators, for the next holder to reset. */
class FloatingPortalTest {

    static final InetSocketAddress TO_PREVIOUS_HOLDER = new InetSocketAddress("10.231.82.10", 40_000);
    static final InetSocketAddress TO_THIS_HOLDER = new InetSocketAddress("10.231.82.10", 40_010);

    @Test
    void aNewHolderKeepsThePreviousHoldersInitiatorsOnRecordUntilItHasResetThem() {
        List<InetSocketAddress> previous = List.of(TO_PREVIOUS_HOLDER);
        assertEquals(Set.of(TO_PREVIOUS_HOLDER), FloatingPortal.initiatorsToRecord(List.of(), previous, 0),
                "just taken, nobody connected yet: the record keeps what the previous holder left");
        assertEquals(Set.of(TO_PREVIOUS_HOLDER, TO_THIS_HOLDER),
                FloatingPortal.initiatorsToRecord(List.of(TO_THIS_HOLDER), previous, 500));
        assertEquals(Set.of(TO_THIS_HOLDER), FloatingPortal.initiatorsToRecord(List.of(TO_THIS_HOLDER), previous,
                FloatingPortal.RESETS_DONE_MILLIS), "reset by now: only this holder's own connections");
        assertEquals(Set.of(), FloatingPortal.initiatorsToRecord(List.of(), List.of(), 0));
    }
}

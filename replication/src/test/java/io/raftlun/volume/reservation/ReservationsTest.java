package io.raftlun.volume.reservation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftlun.volume.reservation.ReservationCommand.Action;
import io.raftlun.volume.reservation.ReservationOutcome.Result;
import org.junit.jupiter.api.Test;

/** RESERVE(6) as part of a volume's replicated reservation state. */
class ReservationsTest {

    static final String PATH_1 = "iqn.2026-11.test:host,i,0x000000000001|iqn.2026-11.test:lun,t,0x0002";
    static final String PATH_2 = "iqn.2026-11.test:host,i,0x000000000002|iqn.2026-11.test:lun,t,0x0003";

    static ReservationCommand reserve6(String nexus, int port) {
        return ReservationCommand.reserve6(nexus, nexus.substring(0, nexus.indexOf('|')), port);
    }

    static ReservationCommand register(String nexus, int port, long key) {
        return new ReservationCommand(Action.REGISTER_AND_IGNORE_EXISTING_KEY, nexus,
                nexus.substring(0, nexus.indexOf('|')), port, 0, key, 0, 0, false, false);
    }

    @Test
    void reserve6HeldByOneNexusConflictsForEveryOtherUntilItsHolderReleases() {
        Reservations state = new Reservations();
        assertEquals(Result.GOOD, state.apply(reserve6(PATH_1, 2)).result());
        assertEquals(Result.GOOD, state.apply(reserve6(PATH_1, 2)).result(), "the holder may reserve again");
        assertEquals(Result.RESERVATION_CONFLICT, state.apply(reserve6(PATH_2, 3)).result());
        assertTrue(state.reserve6HeldByAnother(PATH_2));
        assertFalse(state.reserve6HeldByAnother(PATH_1));

        assertEquals(Result.GOOD, state.apply(ReservationCommand.release6(PATH_2)).result());
        assertEquals(PATH_1, state.view().reserve6Holder(), "a release by another nexus changes nothing");
        state.apply(ReservationCommand.release6(PATH_1));
        assertEquals(Result.GOOD, state.apply(reserve6(PATH_2, 3)).result());
    }

    @Test
    void reserve6AndPersistentReservationsShutEachOtherOut() {
        Reservations state = new Reservations();
        state.apply(reserve6(PATH_1, 2));
        assertEquals(Result.RESERVATION_CONFLICT, state.apply(register(PATH_2, 3, 0x22)).result());
        assertEquals(Result.GOOD, state.apply(register(PATH_1, 2, 0x11)).result(), "its holder may register");
        state.apply(ReservationCommand.release6(PATH_1));
        assertEquals(Result.RESERVATION_CONFLICT, state.apply(reserve6(PATH_2, 3)).result(),
                "a registration in place keeps RESERVE(6) out");
    }

    @Test
    void aResetOrTheLossOfItsTargetPortReleasesReserve6() {
        Reservations state = new Reservations();
        state.apply(reserve6(PATH_1, 2));
        state.logicalUnitReset();
        assertNull(state.view().reserve6Holder());

        state.apply(reserve6(PATH_1, 2));
        state.apply(ReservationCommand.release6ThroughPort(3));
        assertEquals(PATH_1, state.view().reserve6Holder(), "another node's port restarting changes nothing");
        state.apply(ReservationCommand.release6ThroughPort(2));
        assertNull(state.view().reserve6Holder());
    }

    @Test
    void theHolderAndItsPortSurviveEncodingAsInASnapshot() {
        Reservations state = new Reservations();
        state.apply(reserve6(PATH_1, 2));
        Reservations restored = Reservations.decode(state.encode());
        assertEquals(PATH_1, restored.view().reserve6Holder());
        restored.apply(ReservationCommand.release6ThroughPort(2));
        assertNull(restored.view().reserve6Holder(), "the port came back with the holder");
    }

    @Test
    void reserve6CommandsTravelThroughTheLogAndNoPersistentReserveOutCanNameThem() {
        ReservationCommand command = reserve6(PATH_1, 2);
        assertEquals(command, ReservationCommand.decode(command.encode()));
        for (int serviceAction = 0; serviceAction <= 0x1f; serviceAction++) {
            Action action = Action.of(serviceAction);
            assertTrue(action == null || action.code < 8, "service action " + serviceAction + " is " + action);
        }
    }
}

package io.raftlun.volume.reservation;

/**
 * The persistent reservation state of one volume (SPC-4 5.12): registrations, the reservation and
 * its type, the generation. Deterministic: the same commands in the same order give the same state
 * on every replica. Thread-safe.
 */
public final class Reservations {

    /** Applies one command; the caller persists {@link #encode()} when the outcome changed state. */
    public synchronized ReservationOutcome apply(ReservationCommand command) {
        return new ReservationOutcome();
    }

    /** A stable binary form, for persistence and snapshots. */
    public synchronized byte[] encode() {
        return new byte[0];
    }

    public static Reservations decode(byte[] bytes) {
        return new Reservations();
    }
}

package io.raftlun.volume.reservation;

/**
 * One PERSISTENT RESERVE OUT service action (or RESERVE/RELEASE 6/10) from one I_T nexus, in a form
 * that can be carried in a volume's log and applied in the same order on every replica.
 * (Placeholder: its fields are defined with the reservation engine.)
 */
public record ReservationCommand() {
}

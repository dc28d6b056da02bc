package io.raftlun.volume.reservation;

/**
 * What applying a {@link ReservationCommand} produced: success or the SCSI status (RESERVATION
 * CONFLICT, or an illegal request with its sense). (Placeholder: defined with the engine.)
 */
public record ReservationOutcome() {
}

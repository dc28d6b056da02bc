package io.raftlun.volume.reservation;

import java.util.List;

/**
 * What applying a {@link ReservationCommand} produced.
 *
 * @param result          success, RESERVATION CONFLICT, or an illegal request
 * @param asc             for an illegal request: ASC/ASCQ as {@code asc << 8 | ascq}
 * @param fieldPointer    for an illegal request: the CDB or parameter byte at fault, or -1
 * @param inCdb           whether the field pointer points into the CDB
 * @param unitAttentions  unit attentions to establish for other initiator ports
 */
public record ReservationOutcome(Result result, int asc, int fieldPointer, boolean inCdb,
                                 List<UnitAttention> unitAttentions) {

    public enum Result { GOOD, RESERVATION_CONFLICT, ILLEGAL_REQUEST }

    /** A unit attention (ASC/ASCQ as {@code asc << 8 | ascq}) for every nexus of an initiator port. */
    public record UnitAttention(String nexus, int asc) {
    }

    static ReservationOutcome good(List<UnitAttention> unitAttentions) {
        return new ReservationOutcome(Result.GOOD, 0, -1, false, unitAttentions);
    }

    static ReservationOutcome good() {
        return good(List.of());
    }

    static ReservationOutcome conflict() {
        return new ReservationOutcome(Result.RESERVATION_CONFLICT, 0, -1, false, List.of());
    }

    static ReservationOutcome illegal(int asc, int fieldPointer, boolean inCdb) {
        return new ReservationOutcome(Result.ILLEGAL_REQUEST, asc, fieldPointer, inCdb, List.of());
    }
}

package io.raftlun.volume.reservation;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One change to a volume's reservations, in a form a volume's log can carry, so that every replica
 * applies the same changes in the same order: a PERSISTENT RESERVE OUT service action from one I_T
 * nexus (SPC-4 6.16), or a RESERVE(6)/RELEASE(6) and the releases SPC-2 5.5.1 adds to it.
 *
 * @param action            the service action
 * @param nexus             the I_T nexus: initiator port name and target port name
 * @param initiatorPort     the initiator port name alone (for unit attentions and TransportIDs)
 * @param relativeTargetPort the relative target port identifier of the port the command came through
 * @param reservationKey    RESERVATION KEY of the parameter list
 * @param serviceActionKey  SERVICE ACTION RESERVATION KEY of the parameter list
 * @param type              reservation type from the CDB (see {@link Reservations})
 * @param scope             scope from the CDB (only 0, logical unit, is valid)
 * @param aptpl             activate persist through power loss
 * @param allTargetPorts    ALL_TG_PT: the registration applies through every target port
 */
public record ReservationCommand(Action action, String nexus, String initiatorPort, int relativeTargetPort,
                                 long reservationKey, long serviceActionKey, int type, int scope, boolean aptpl,
                                 boolean allTargetPorts) {

    /**
     * PERSISTENT RESERVE OUT service actions, by code, then the RESERVE(6) changes, whose codes lie
     * past the CDB's 5-bit SERVICE ACTION field so that no PERSISTENT RESERVE OUT can name them.
     */
    public enum Action {
        REGISTER(0), RESERVE(1), RELEASE(2), CLEAR(3), PREEMPT(4), PREEMPT_AND_ABORT(5),
        REGISTER_AND_IGNORE_EXISTING_KEY(6), REGISTER_AND_MOVE(7),
        /** RESERVE(6) or RESERVE(10) of the whole logical unit. */
        RESERVE_6(0x20),
        /** RELEASE(6) or RELEASE(10), or the loss of the I_T nexus: releases what the nexus holds. */
        RELEASE_6(0x21),
        /** Every I_T nexus through {@code relativeTargetPort} is gone (its node restarted). */
        RELEASE_6_THROUGH_PORT(0x22);

        public final int code;

        Action(int code) {
            this.code = code;
        }

        public static Action of(int code) {
            for (Action action : values()) {
                if (action.code == code) {
                    return action;
                }
            }
            return null;
        }
    }

    /** RESERVE(6) from {@code nexus}, through the target port {@code relativeTargetPort}. */
    public static ReservationCommand reserve6(String nexus, String initiatorPort, int relativeTargetPort) {
        return new ReservationCommand(Action.RESERVE_6, nexus, initiatorPort, relativeTargetPort, 0, 0, 0, 0, false,
                false);
    }

    /** RELEASE(6) from {@code nexus}, or its loss. */
    public static ReservationCommand release6(String nexus) {
        return new ReservationCommand(Action.RELEASE_6, nexus, "", 0, 0, 0, 0, 0, false, false);
    }

    /** The loss of every I_T nexus through the target port {@code relativeTargetPort}. */
    public static ReservationCommand release6ThroughPort(int relativeTargetPort) {
        return new ReservationCommand(Action.RELEASE_6_THROUGH_PORT, "", "", relativeTargetPort, 0, 0, 0, 0, false,
                false);
    }

    /** The compact binary form a log entry carries. */
    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(96);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(action.code);
            out.writeUTF(nexus);
            out.writeUTF(initiatorPort);
            out.writeShort(relativeTargetPort);
            out.writeLong(reservationKey);
            out.writeLong(serviceActionKey);
            out.writeByte(type);
            out.writeByte(scope);
            out.writeByte((aptpl ? 1 : 0) | (allTargetPorts ? 2 : 0));
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ReservationCommand decode(byte[] encoded) {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(encoded))) {
            Action action = Action.of(in.readUnsignedByte());
            String nexus = in.readUTF();
            String initiatorPort = in.readUTF();
            int port = in.readUnsignedShort();
            long key = in.readLong();
            long saKey = in.readLong();
            int type = in.readUnsignedByte();
            int scope = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            return new ReservationCommand(action, nexus, initiatorPort, port, key, saKey, type, scope,
                    (flags & 1) != 0, (flags & 2) != 0);
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed reservation command", e);
        }
    }
}

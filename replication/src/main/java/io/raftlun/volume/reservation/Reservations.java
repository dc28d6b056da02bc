package io.raftlun.volume.reservation;

import io.raftlun.volume.reservation.ReservationCommand.Action;
import io.raftlun.volume.reservation.ReservationOutcome.UnitAttention;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reservation state of one volume: persistent reservations (SPC-4 5.12) with registrations by
 * I_T nexus, the reservation and its type, the generation; and the I_T nexus holding RESERVE(6)
 * (SPC-2 5.5.1). Deterministic: the same commands in the same order give the same state on every
 * replica, so every node enforces the same reservations. Thread-safe.
 */
public final class Reservations {

    public static final int WRITE_EXCLUSIVE = 1;
    public static final int EXCLUSIVE_ACCESS = 3;
    public static final int WRITE_EXCLUSIVE_REGISTRANTS_ONLY = 5;
    public static final int EXCLUSIVE_ACCESS_REGISTRANTS_ONLY = 6;
    public static final int WRITE_EXCLUSIVE_ALL_REGISTRANTS = 7;
    public static final int EXCLUSIVE_ACCESS_ALL_REGISTRANTS = 8;

    private static final int INVALID_RELEASE = 0x2604;
    private static final int INVALID_FIELD_IN_CDB = 0x2400;
    private static final int INVALID_FIELD_IN_PARAMETER_LIST = 0x2600;
    private static final int RESERVATIONS_PREEMPTED = 0x2a03;
    private static final int RESERVATIONS_RELEASED = 0x2a04;
    private static final int REGISTRATIONS_PREEMPTED = 0x2a05;

    /** One registered I_T nexus. */
    public record Registration(String nexus, String initiatorPort, int relativeTargetPort, long key,
                               boolean allTargetPorts) {
    }

    /**
     * What a reader sees: a consistent copy of the state.
     *
     * @param reserve6Holder the I_T nexus holding RESERVE(6), or null
     */
    public record View(int generation, List<Registration> registrations, String holder, int type, boolean aptpl,
                       String reserve6Holder) {
        public boolean reserved() {
            return type != 0;
        }

        /** True if {@code nexus} holds the reservation (every registrant does for all-registrants types). */
        public boolean holds(String nexus) {
            if (!reserved()) {
                return false;
            }
            if (allRegistrants(type)) {
                return registrations.stream().anyMatch(r -> r.nexus().equals(nexus));
            }
            return nexus.equals(holder);
        }

        public long holderKey() {
            if (allRegistrants(type)) {
                return 0; // SPC-4 6.15.3.2: the key of an all-registrants reservation reads as zero
            }
            return registrations.stream().filter(r -> r.nexus().equals(holder)).mapToLong(Registration::key)
                    .findFirst().orElse(0);
        }
    }

    private int generation;
    private final Map<String, Registration> registrations = new LinkedHashMap<>();
    private String holder;
    private int type;
    private boolean aptpl;
    private String reserve6Holder;
    /** The relative target port {@link #reserve6Holder} came through: its node's port. */
    private int reserve6Port;

    /** Applies one command; the caller persists {@link #encode()} when the outcome changed state. */
    public synchronized ReservationOutcome apply(ReservationCommand command) {
        if (command.action() == null || command.action() == Action.REGISTER_AND_MOVE) {
            return ReservationOutcome.illegal(INVALID_FIELD_IN_CDB, 1, true);
        }
        return switch (command.action()) {
            case RESERVE_6 -> reserve6(command);
            case RELEASE_6 -> release6(command);
            case RELEASE_6_THROUGH_PORT -> release6ThroughPort(command);
            default -> reserve6HeldByAnother(command.nexus())
                    ? ReservationOutcome.conflict() // another nexus's RESERVE(6) shuts PR out (SPC-2 5.5.1)
                    : persistent(command);
        };
    }

    private ReservationOutcome persistent(ReservationCommand command) {
        Registration own = registrations.get(command.nexus());
        return switch (command.action()) {
            case REGISTER, REGISTER_AND_IGNORE_EXISTING_KEY -> register(command, own);
            case RESERVE -> reserve(command, own);
            case RELEASE -> release(command, own);
            case CLEAR -> clear(command, own);
            case PREEMPT, PREEMPT_AND_ABORT -> preempt(command, own);
            default -> ReservationOutcome.illegal(INVALID_FIELD_IN_CDB, 1, true);
        };
    }

    /** SPC-4 5.13.3: RESERVE(6) conflicts while persistent reservations are in use. */
    private ReservationOutcome reserve6(ReservationCommand command) {
        if (reserve6HeldByAnother(command.nexus()) || !registrations.isEmpty()) {
            return ReservationOutcome.conflict();
        }
        reserve6Holder = command.nexus();
        reserve6Port = command.relativeTargetPort();
        return ReservationOutcome.good();
    }

    /** A nexus that holds nothing releases nothing (SPC-2 7.17). */
    private ReservationOutcome release6(ReservationCommand command) {
        if (command.nexus().equals(reserve6Holder)) {
            releaseReserve6();
        }
        return ReservationOutcome.good();
    }

    private ReservationOutcome release6ThroughPort(ReservationCommand command) {
        if (reserve6Holder != null && reserve6Port == command.relativeTargetPort()) {
            releaseReserve6();
        }
        return ReservationOutcome.good();
    }

    private void releaseReserve6() {
        reserve6Holder = null;
        reserve6Port = 0;
    }

    /** A logical unit or target reset: RESERVE(6) is released (SPC-2 5.5.1), persistent reservations stay. */
    public synchronized void logicalUnitReset() {
        releaseReserve6();
    }

    /** Whether an I_T nexus other than {@code nexus} holds RESERVE(6): then {@code nexus} conflicts. */
    public synchronized boolean reserve6HeldByAnother(String nexus) {
        return reserve6Holder != null && !reserve6Holder.equals(nexus);
    }

    private ReservationOutcome register(ReservationCommand command, Registration own) {
        boolean ignoreKey = command.action() == Action.REGISTER_AND_IGNORE_EXISTING_KEY;
        if (!ignoreKey) {
            long expected = own == null ? 0 : own.key();
            if (command.reservationKey() != expected) {
                return ReservationOutcome.conflict();
            }
        }
        if (command.serviceActionKey() == 0) {
            if (own != null) {
                unregister(own.nexus());
                generation++;
            }
            aptpl = command.aptpl();
            return ReservationOutcome.good();
        }
        registrations.put(command.nexus(), new Registration(command.nexus(), command.initiatorPort(),
                command.relativeTargetPort(), command.serviceActionKey(), command.allTargetPorts()));
        aptpl = command.aptpl();
        generation++;
        return ReservationOutcome.good();
    }

    /** Removing a registration releases a reservation it alone held (SPC-4 5.12.11.2.3). */
    private void unregister(String nexus) {
        registrations.remove(nexus);
        if (type != 0) {
            if (allRegistrants(type)) {
                if (registrations.isEmpty()) {
                    releaseReservation();
                }
            } else if (nexus.equals(holder)) {
                releaseReservation();
            }
        }
    }

    private ReservationOutcome reserve(ReservationCommand command, Registration own) {
        if (own == null || own.key() != command.reservationKey()) {
            return ReservationOutcome.conflict();
        }
        if (command.scope() != 0) {
            return ReservationOutcome.illegal(INVALID_FIELD_IN_CDB, 2, true);
        }
        if (!validType(command.type())) {
            return ReservationOutcome.illegal(INVALID_FIELD_IN_CDB, 2, true);
        }
        if (type == 0) {
            holder = command.nexus();
            type = command.type();
            return ReservationOutcome.good();
        }
        boolean holds = allRegistrants(type) || command.nexus().equals(holder);
        if (holds && type == command.type()) {
            return ReservationOutcome.good();
        }
        return ReservationOutcome.conflict();
    }

    private ReservationOutcome release(ReservationCommand command, Registration own) {
        if (own == null || own.key() != command.reservationKey()) {
            return ReservationOutcome.conflict();
        }
        if (type == 0 || !(allRegistrants(type) || command.nexus().equals(holder))) {
            return ReservationOutcome.good(); // nothing this nexus holds: no change (SPC-4 5.12.11.2.2)
        }
        if (command.scope() != 0 || command.type() != type) {
            return ReservationOutcome.illegal(INVALID_RELEASE, -1, false);
        }
        List<UnitAttention> attentions = new ArrayList<>();
        if (registrantsOnly(type) || allRegistrants(type)) {
            for (Registration r : registrations.values()) {
                if (!r.nexus().equals(command.nexus())) {
                    attentions.add(new UnitAttention(r.nexus(), RESERVATIONS_RELEASED));
                }
            }
        }
        releaseReservation();
        return ReservationOutcome.good(attentions);
    }

    private ReservationOutcome clear(ReservationCommand command, Registration own) {
        if (own == null || own.key() != command.reservationKey()) {
            return ReservationOutcome.conflict();
        }
        List<UnitAttention> attentions = new ArrayList<>();
        for (Registration r : registrations.values()) {
            if (!r.nexus().equals(command.nexus())) {
                attentions.add(new UnitAttention(r.nexus(), RESERVATIONS_PREEMPTED));
            }
        }
        registrations.clear();
        releaseReservation();
        generation++;
        return ReservationOutcome.good(attentions);
    }

    private ReservationOutcome preempt(ReservationCommand command, Registration own) {
        if (own == null || own.key() != command.reservationKey()) {
            return ReservationOutcome.conflict();
        }
        long victimKey = command.serviceActionKey();
        List<UnitAttention> attentions = new ArrayList<>();
        if (type == 0 || (!allRegistrants(type) && victimKey != holderKey())) {
            // No reservation to take, or a key that is not the holder's: remove those registrations only.
            if (victimKey == 0 && type != 0) {
                return ReservationOutcome.illegal(INVALID_FIELD_IN_PARAMETER_LIST, 8, false);
            }
            if (!removeRegistrations(victimKey, command.nexus(), attentions)) {
                return ReservationOutcome.conflict();
            }
            generation++;
            return ReservationOutcome.good(attentions);
        }
        if (!validType(command.type()) || command.scope() != 0) {
            return ReservationOutcome.illegal(INVALID_FIELD_IN_CDB, 2, true);
        }
        if (allRegistrants(type) && victimKey != 0) {
            // All-registrants: a non-zero key only removes registrations (SPC-4 5.12.11.4.4).
            if (!removeRegistrations(victimKey, command.nexus(), attentions)) {
                return ReservationOutcome.conflict();
            }
            generation++;
            return ReservationOutcome.good(attentions);
        }
        // Take the reservation over: remove the victims, the caller holds it with the new type.
        if (allRegistrants(type)) {
            for (Registration r : new ArrayList<>(registrations.values())) {
                if (!r.nexus().equals(command.nexus())) {
                    registrations.remove(r.nexus());
                    attentions.add(new UnitAttention(r.nexus(), REGISTRATIONS_PREEMPTED));
                }
            }
        } else {
            removeRegistrations(victimKey, command.nexus(), attentions);
        }
        int oldType = type;
        holder = command.nexus();
        type = command.type();
        if (oldType != type) {
            for (Registration r : registrations.values()) {
                if (!r.nexus().equals(command.nexus())) {
                    attentions.add(new UnitAttention(r.nexus(), RESERVATIONS_RELEASED));
                }
            }
        }
        generation++;
        return ReservationOutcome.good(attentions);
    }

    private boolean removeRegistrations(long key, String except, List<UnitAttention> attentions) {
        boolean any = false;
        for (Registration r : new ArrayList<>(registrations.values())) {
            if (r.key() == key && !r.nexus().equals(except)) {
                registrations.remove(r.nexus());
                attentions.add(new UnitAttention(r.nexus(), REGISTRATIONS_PREEMPTED));
                any = true;
            } else if (r.key() == key) {
                any = true; // the caller's own registration with that key stays (SPC-4 5.12.11.4.3)
            }
        }
        if (type != 0 && !allRegistrants(type) && !registrations.containsKey(holder)) {
            releaseReservation();
        }
        return any;
    }

    private long holderKey() {
        Registration r = holder == null ? null : registrations.get(holder);
        return r == null ? 0 : r.key();
    }

    private void releaseReservation() {
        holder = null;
        type = 0;
    }

    /**
     * Whether a command from {@code nexus} conflicts with the persistent reservation (SPC-4 5.12.1,
     * table of commands allowed per type): reads conflict only under exclusive-access types, writes
     * under every type, for nexuses that do not hold the reservation.
     */
    public synchronized boolean conflicts(String nexus, boolean writes) {
        if (type == 0) {
            return false;
        }
        boolean registered = registrations.containsKey(nexus);
        boolean holds = allRegistrants(type) ? registered : nexus.equals(holder);
        if (holds) {
            return false;
        }
        if ((registrantsOnly(type) || allRegistrants(type)) && registered) {
            return false; // registrants have access under *_REGISTRANTS_ONLY and *_ALL_REGISTRANTS
        }
        boolean exclusiveAccess = type == EXCLUSIVE_ACCESS || type == EXCLUSIVE_ACCESS_REGISTRANTS_ONLY
                || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
        return writes || exclusiveAccess;
    }

    public synchronized boolean isRegistered(String nexus) {
        return registrations.containsKey(nexus);
    }

    public synchronized View view() {
        return new View(generation, List.copyOf(registrations.values()), holder, type, aptpl, reserve6Holder);
    }

    static boolean validType(int type) {
        return type == WRITE_EXCLUSIVE || type == EXCLUSIVE_ACCESS || (type >= 5 && type <= 8);
    }

    static boolean registrantsOnly(int type) {
        return type == WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type == EXCLUSIVE_ACCESS_REGISTRANTS_ONLY;
    }

    static boolean allRegistrants(int type) {
        return type == WRITE_EXCLUSIVE_ALL_REGISTRANTS || type == EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
    }

    /** A stable binary form, for persistence and snapshots. */
    public synchronized byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(2); // format version: 2 added the RESERVE(6) holder
            out.writeInt(generation);
            out.writeByte(type);
            out.writeUTF(holder == null ? "" : holder);
            out.writeBoolean(aptpl);
            out.writeInt(registrations.size());
            for (Registration r : registrations.values()) {
                out.writeUTF(r.nexus());
                out.writeUTF(r.initiatorPort());
                out.writeShort(r.relativeTargetPort());
                out.writeLong(r.key());
                out.writeBoolean(r.allTargetPorts());
            }
            out.writeUTF(reserve6Holder == null ? "" : reserve6Holder);
            out.writeShort(reserve6Port);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Reservations decode(byte[] bytes) {
        Reservations state = new Reservations();
        if (bytes == null || bytes.length == 0) {
            return state;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            int version = in.readUnsignedByte();
            if (version != 1 && version != 2) {
                throw new IllegalArgumentException("unknown reservation state format " + version);
            }
            state.generation = in.readInt();
            state.type = in.readUnsignedByte();
            String holder = in.readUTF();
            state.holder = holder.isEmpty() ? null : holder;
            state.aptpl = in.readBoolean();
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                Registration r = new Registration(in.readUTF(), in.readUTF(), in.readUnsignedShort(), in.readLong(),
                        in.readBoolean());
                state.registrations.put(r.nexus(), r);
            }
            if (version >= 2) {
                String reserve6Holder = in.readUTF();
                state.reserve6Holder = reserve6Holder.isEmpty() ? null : reserve6Holder;
                state.reserve6Port = in.readUnsignedShort();
            }
            return state;
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed reservation state", e);
        }
    }
}

package io.raftlun.scsi;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The commands a disk understands, by opcode and service action: one readable list, as in tgt.
 * Each entry says how the command relates to reservations and what CDB fields it uses (for
 * REPORT SUPPORTED OPERATION CODES).
 */
final class OpcodeTable {

    /** How a command fares under a reservation held by another I_T nexus (SPC-4 5.12.1, 5.13). */
    enum Access {
        /** Allowed whatever is reserved: INQUIRY, REPORT LUNS, REQUEST SENSE and the like. */
        ALWAYS,
        /** Allowed under persistent reservations, not under RESERVE(6). */
        INFORMATIONAL,
        /** Reads the medium: conflicts with exclusive-access reservations. */
        READ,
        /** Changes the medium or the device: conflicts with every reservation. */
        WRITE,
        /** Reservation commands check for themselves. */
        RESERVATION
    }

    @FunctionalInterface
    interface Handler {
        CompletableFuture<ScsiResult> execute(Request request);
    }

    /** One supported command. {@code usage} is its CDB usage data mask (SPC-4 6.35.3). */
    record Entry(int opcode, int serviceAction, String name, Access access, Handler handler, int[] usage) {
        boolean hasServiceAction() {
            return serviceAction >= 0;
        }
    }

    private final Entry[] byOpcode = new Entry[256];
    private final List<List<Entry>> serviceActions = new ArrayList<>(Collections.nCopies(256, null));
    private final List<Entry> all = new ArrayList<>();

    OpcodeTable add(int opcode, String name, Access access, Handler handler, int... usage) {
        Entry entry = new Entry(opcode, -1, name, access, handler, usage);
        byOpcode[opcode] = entry;
        all.add(entry);
        return this;
    }

    OpcodeTable addServiceAction(int opcode, int serviceAction, String name, Access access, Handler handler,
                                 int... usage) {
        if (serviceActions.get(opcode) == null) {
            serviceActions.set(opcode, new ArrayList<>());
        }
        Entry entry = new Entry(opcode, serviceAction, name, access, handler, usage);
        serviceActions.get(opcode).add(entry);
        all.add(entry);
        return this;
    }

    /** The entry for a CDB, or null if the opcode (or its service action) is not supported. */
    Entry lookup(byte[] cdb) {
        int opcode = cdb[0] & 0xff;
        if (byOpcode[opcode] != null) {
            return byOpcode[opcode];
        }
        List<Entry> actions = serviceActions.get(opcode);
        if (actions == null) {
            return null;
        }
        int serviceAction = cdb[1] & 0x1f;
        for (Entry entry : actions) {
            if (entry.serviceAction == serviceAction) {
                return entry;
            }
        }
        return null;
    }

    boolean hasServiceActions(int opcode) {
        return serviceActions.get(opcode) != null;
    }

    boolean knowsOpcode(int opcode) {
        return byOpcode[opcode] != null || serviceActions.get(opcode) != null;
    }

    Entry find(int opcode, int serviceAction) {
        if (serviceAction < 0) {
            return byOpcode[opcode];
        }
        List<Entry> actions = serviceActions.get(opcode);
        if (actions != null) {
            for (Entry entry : actions) {
                if (entry.serviceAction == serviceAction) {
                    return entry;
                }
            }
        }
        return null;
    }

    List<Entry> all() {
        return all;
    }
}

package io.raftlun.scsi;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SCSI target whose logical units are disks (SBC-3). Routes each command to its LUN, answers
 * REPORT LUNS and commands to LUNs that do not exist, reports pending unit attentions first and
 * reservation conflicts next, then runs the command's handler from the opcode table.
 */
public final class BlockTarget implements ScsiTarget {

    private static final Logger log = LoggerFactory.getLogger(BlockTarget.class);

    private final Map<Long, LogicalUnit> units = new ConcurrentSkipListMap<>();
    private final Set<ItNexus> nexuses = ConcurrentHashMap.newKeySet();
    private final OpcodeTable table;
    private final TargetPortGroups portGroups;

    public BlockTarget(List<LogicalUnit> units) {
        this(units, TargetPortGroups.SINGLE);
    }

    public BlockTarget(List<LogicalUnit> units, TargetPortGroups portGroups) {
        for (LogicalUnit unit : units) {
            this.units.put(unit.lun(), unit);
        }
        this.portGroups = portGroups;
        this.table = Commands.diskTable(this);
    }

    List<LogicalUnit> units() {
        return List.copyOf(units.values());
    }

    /** The logical unit at {@code lun}, or null. */
    public LogicalUnit unit(long lun) {
        return units.get(lun);
    }

    /** Adds a LUN while sessions run: they learn of it through REPORTED LUNS DATA HAS CHANGED (SPC-4 6.33). */
    public void addUnit(LogicalUnit unit) {
        if (units.putIfAbsent(unit.lun(), unit) != null) {
            throw new IllegalArgumentException("LUN " + unit.lun() + " exists");
        }
        nexuses.forEach(unit::nexusOpened);
        lunsChanged(unit.lun());
    }

    /** Removes a LUN; the sessions are told as for {@link #addUnit}. */
    public LogicalUnit removeUnit(long lun) {
        LogicalUnit removed = units.remove(lun);
        if (removed != null) {
            removed.close();
            lunsChanged(lun);
        }
        return removed;
    }

    /** The target is no longer served: its LUNs stop listening to their volumes. */
    public void close() {
        units.values().forEach(LogicalUnit::close);
    }

    private void lunsChanged(long changed) {
        units.values().forEach(unit -> {
            if (unit.lun() != changed) {
                unit.unitAttentionForOthers(null, Sense.REPORTED_LUNS_DATA_HAS_CHANGED);
            }
        });
    }

    TargetPortGroups portGroups() {
        return portGroups;
    }

    OpcodeTable table() {
        return table;
    }

    @Override
    public CompletableFuture<ScsiResult> execute(ScsiCommand command) {
        LogicalUnit unit = units.get(command.lun());
        CompletableFuture<ScsiResult> result = execute(command, unit);
        return unit == null ? result : result.thenApply(unit::counted);
    }

    private CompletableFuture<ScsiResult> execute(ScsiCommand command, LogicalUnit unit) {
        Request request = null;
        try {
            int opcode = command.opcode();
            if (unit == null) {
                command.dataOut().release();
                return noSuchUnit(command);
            }
            request = new Request(command, unit);
            OpcodeTable.Entry entry = table.lookup(command.cdb());
            if (entry == null) {
                request.releaseUnusedData();
                return Request.check(Sense.illegalRequest(Sense.INVALID_COMMAND_OPERATION_CODE));
            }
            ItNexus nexus = command.nexus();
            if (opcode != Commands.INQUIRY && opcode != Commands.REPORT_LUNS && opcode != Commands.REQUEST_SENSE) {
                Sense attention = unit.takeUnitAttention(nexus);
                if (attention != null) {
                    request.releaseUnusedData();
                    return Request.check(attention);
                }
            }
            if (conflicts(unit, nexus, entry)) {
                request.releaseUnusedData();
                return Request.conflict();
            }
            Request running = request;
            return entry.handler().execute(request).whenComplete((r, e) -> running.releaseUnusedData())
                    .exceptionally(failure -> Request.failure(failure, 0));
        } catch (RuntimeException e) {
            log.error("command 0x{} failed unexpectedly", Integer.toHexString(command.opcode()), e);
            if (request != null) {
                request.releaseUnusedData();
            } else if (command.dataOut().refCnt() > 0) {
                command.dataOut().release();
            }
            return Request.check(Sense.of(Sense.HARDWARE_ERROR, Sense.INTERNAL_TARGET_FAILURE));
        }
    }

    /** SPC-4 5.12.1 (persistent) and SPC-2 5.5.1 (RESERVE(6)): may this nexus run this command now? */
    private static boolean conflicts(LogicalUnit unit, ItNexus nexus, OpcodeTable.Entry entry) {
        OpcodeTable.Access access = entry.access();
        if (access == OpcodeTable.Access.ALWAYS || access == OpcodeTable.Access.RESERVATION) {
            return false; // reservation commands check for themselves (RELEASE by another nexus is a no-op)
        }
        if (unit.reservedByAnother(nexus)) {
            return true;
        }
        if (access == OpcodeTable.Access.INFORMATIONAL) {
            return false;
        }
        return unit.volume().reservations().conflicts(nexus.reservationKey(),
                access == OpcodeTable.Access.WRITE);
    }

    /** SPC-4 4.6.4: INQUIRY and REPORT LUNS still answer for a LUN that does not exist. */
    private CompletableFuture<ScsiResult> noSuchUnit(ScsiCommand command) {
        byte[] cdb = command.cdb();
        if (command.opcode() == Commands.INQUIRY && (cdb[1] & 1) == 0) {
            byte[] data = new byte[36];
            data[0] = 0x7f; // peripheral qualifier 3: no logical unit here; device type unknown
            data[2] = 0x06;
            data[3] = 0x12;
            data[4] = 31;
            return Request.data(data, Cdb.u16(cdb, 3));
        }
        if (command.opcode() == Commands.REPORT_LUNS) {
            return Spc.reportLuns(this, cdb);
        }
        if (command.opcode() == Commands.REQUEST_SENSE) {
            return Request.data(Sense.illegalRequest(Sense.LOGICAL_UNIT_NOT_SUPPORTED).toBytes(), cdb[4] & 0xff);
        }
        return Request.check(Sense.illegalRequest(Sense.LOGICAL_UNIT_NOT_SUPPORTED));
    }

    @Override
    public boolean hasLun(long lun) {
        return units.containsKey(lun);
    }

    @Override
    public CompletableFuture<Void> reset(ItNexus nexus, Reset kind, long lun) {
        return switch (kind) {
            case LOGICAL_UNIT_RESET -> {
                LogicalUnit unit = units.get(lun);
                yield unit != null ? unit.reset() : CompletableFuture.completedFuture(null);
            }
            case TARGET_RESET -> CompletableFuture.allOf(units.values().stream()
                    .map(LogicalUnit::reset).toArray(CompletableFuture[]::new));
            // Tasks are the transport's; CLEAR TASK SET leaves SCSI state as it is (SAM-5 7.5).
            case CLEAR_TASK_SET -> CompletableFuture.completedFuture(null);
        };
    }

    @Override
    public void nexusOpened(ItNexus nexus) {
        nexuses.add(nexus);
        units.values().forEach(unit -> unit.nexusOpened(nexus));
    }

    @Override
    public CompletableFuture<Void> nexusClosed(ItNexus nexus) {
        nexuses.remove(nexus);
        return CompletableFuture.allOf(units.values().stream().map(unit -> unit.nexusClosed(nexus))
                .toArray(CompletableFuture[]::new));
    }
}

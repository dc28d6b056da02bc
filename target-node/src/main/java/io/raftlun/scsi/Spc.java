package io.raftlun.scsi;

import io.netty.buffer.ByteBuf;
import io.raftlun.volume.BlockVolume;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.Reservations;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Commands every device type shares (SPC-4): INQUIRY, REPORT LUNS, MODE, reservations, reports. */
final class Spc {

    private static final int PAGE_CACHING = 0x08;
    private static final int PAGE_CONTROL = 0x0a;
    private static final int PAGE_INFORMATIONAL_EXCEPTIONS = 0x1c;
    private static final int PAGE_ALL = 0x3f;

    private final BlockTarget target;

    Spc(BlockTarget target) {
        this.target = target;
    }

    // ------------------------------------------------------------ INQUIRY (SPC-4 6.6)

    CompletableFuture<ScsiResult> inquiry(Request r) {
        byte[] cdb = r.cdb;
        int allocation = Cdb.u16(cdb, 3);
        boolean evpd = (cdb[1] & 0x01) != 0;
        if ((cdb[1] & 0x02) != 0) {
            return Request.check(Sense.invalidCdbField(1, 1)); // CMDDT is obsolete
        }
        if (!evpd) {
            if (cdb[2] != 0) {
                return Request.check(Sense.invalidCdbField(2));
            }
            return Request.data(standardInquiry(r.unit), allocation);
        }
        byte[] page = vpd(r, cdb[2] & 0xff);
        if (page == null) {
            return Request.check(Sense.invalidCdbField(2));
        }
        return Request.data(page, allocation);
    }

    private static byte[] standardInquiry(LogicalUnit unit) {
        byte[] data = new byte[74];
        data[0] = 0x00; // direct access block device
        data[2] = 0x06; // SPC-4
        data[3] = 0x12; // HISUP, response data format 2
        data[4] = (byte) (data.length - 5);
        data[5] = 0x10; // TPGS=01: implicit asymmetric access (ALUA)
        data[7] = 0x02; // CMDQUE
        ascii(data, 8, 8, unit.identity().vendor());
        ascii(data, 16, 16, unit.identity().product());
        ascii(data, 32, 4, LunIdentity.REVISION);
        int[] versions = {0x00a0, 0x0960, 0x0460, 0x04c0}; // SAM-5, iSCSI, SPC-4, SBC-3
        for (int i = 0; i < versions.length; i++) {
            Cdb.put16(data, 58 + 2 * i, versions[i]);
        }
        return data;
    }

    private byte[] vpd(Request r, int page) {
        LogicalUnit unit = r.unit;
        BlockVolume volume = unit.volume();
        return switch (page) {
            case 0x00 -> vpdPage(0x00, new byte[] {0x00, (byte) 0x80, (byte) 0x83, (byte) 0xb0, (byte) 0xb1,
                    (byte) 0xb2});
            case 0x80 -> vpdPage(0x80, unit.identity().serial().getBytes(StandardCharsets.US_ASCII));
            case 0x83 -> vpdPage(0x83, deviceIdentification(unit, r.nexus()));
            case 0xb0 -> {
                byte[] p = new byte[0x3c];
                p[0] = 0x01; // WSNZ: WRITE SAME with zero blocks is not allowed
                p[1] = (byte) BlockLimits.MAX_COMPARE_AND_WRITE_BLOCKS;
                int block = volume.blockSize();
                Cdb.put16(p, 2, Math.max(1, BlockLimits.PHYSICAL_BLOCK_BYTES / block));
                Cdb.put32(p, 4, BlockLimits.MAX_TRANSFER_BYTES / block);
                Cdb.put32(p, 8, BlockLimits.OPTIMAL_TRANSFER_BYTES / block);
                Cdb.put32(p, 16, BlockLimits.MAX_UNMAP_BLOCKS);
                Cdb.put32(p, 20, BlockLimits.MAX_UNMAP_DESCRIPTORS);
                Cdb.put32(p, 24, Math.max(1, BlockLimits.PHYSICAL_BLOCK_BYTES / block));
                Cdb.put64(p, 32, BlockLimits.MAX_WRITE_SAME_BLOCKS);
                yield vpdPage(0xb0, p);
            }
            case 0xb1 -> {
                byte[] p = new byte[0x3c];
                Cdb.put16(p, 0, 0x0001); // non-rotating medium
                yield vpdPage(0xb1, p);
            }
            case 0xb2 -> {
                byte[] p = new byte[4];
                // LBPU, LBPWS, LBPWS10; LBPRZ=1: unmapped blocks read as zeros (SBC-4 6.6.6)
                p[1] = (byte) (0x80 | 0x40 | 0x20 | 0x04);
                p[2] = 0x02; // thin provisioned
                yield vpdPage(0xb2, p);
            }
            default -> null;
        };
    }

    private static byte[] vpdPage(int code, byte[] body) {
        byte[] page = new byte[4 + body.length];
        page[1] = (byte) code;
        Cdb.put16(page, 2, body.length);
        System.arraycopy(body, 0, page, 4, body.length);
        return page;
    }

    /** VPD 0x83 (SPC-4 7.8.6): the same NAA on every node; this node's port and port group. */
    private static byte[] deviceIdentification(LogicalUnit unit, ItNexus nexus) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        designator(out, 0x01, 0x03, 0x00, unit.identity().naa()); // binary, NAA, logical unit
        byte[] t10 = new byte[8 + unit.identity().serial().length()];
        ascii(t10, 0, 8, unit.identity().vendor());
        System.arraycopy(unit.identity().serial().getBytes(StandardCharsets.US_ASCII), 0, t10, 8,
                unit.identity().serial().length());
        designator(out, 0x02, 0x01, 0x00, t10); // ASCII, T10 vendor id, logical unit
        byte[] port = new byte[4];
        Cdb.put16(port, 2, nexus.relativeTargetPort());
        designator(out, 0x51, 0x94, 0x10, port); // iSCSI, PIV, relative target port, target port
        byte[] group = new byte[4];
        Cdb.put16(group, 2, nexus.portalGroupTag());
        designator(out, 0x51, 0x95, 0x10, group); // iSCSI, PIV, target port group
        byte[] name = paddedName(nexus.targetPortName());
        designator(out, 0x53, 0x98, 0x10, name); // UTF-8 SCSI name string of the target port
        return out.toByteArray();
    }

    private static void designator(ByteArrayOutputStream out, int protocolAndCodeSet, int pivAssociationType,
                                   int unused, byte[] value) {
        out.write(protocolAndCodeSet);
        out.write(pivAssociationType);
        out.write(0);
        out.write(value.length);
        out.writeBytes(value);
    }

    private static byte[] paddedName(String name) {
        byte[] raw = name.getBytes(StandardCharsets.UTF_8);
        int length = (raw.length + 1 + 3) & ~3; // NUL-terminated, multiple of four (SPC-4 7.8.6.11)
        byte[] padded = new byte[length];
        System.arraycopy(raw, 0, padded, 0, raw.length);
        return padded;
    }

    private static void ascii(byte[] into, int at, int width, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < width; i++) {
            into[at + i] = i < bytes.length ? bytes[i] : (byte) ' ';
        }
    }

    // ------------------------------------------------------------ REPORT LUNS (SPC-4 6.33)

    static CompletableFuture<ScsiResult> reportLuns(BlockTarget target, byte[] cdb) {
        int select = cdb[2] & 0xff;
        if (select > 2) {
            return Request.check(Sense.invalidCdbField(2));
        }
        long allocation = Cdb.u32(cdb, 6);
        if (allocation < 16) {
            return Request.check(Sense.invalidCdbField(6));
        }
        List<LogicalUnit> units = target.units();
        byte[] data = new byte[8 + 8 * units.size()];
        Cdb.put32(data, 0, 8L * units.size());
        for (int i = 0; i < units.size(); i++) {
            io.raftlun.scsi.Cdb.put64(data, 8 + 8 * i, LunAddress.encode(units.get(i).lun()));
        }
        return Request.data(data, allocation);
    }

    // ------------------------------------------------------------ REQUEST SENSE (SPC-4 6.39)

    CompletableFuture<ScsiResult> requestSense(Request r) {
        if ((r.cdb[1] & 0x01) != 0) {
            return Request.check(Sense.invalidCdbField(1, 0)); // descriptor format is not offered
        }
        Sense pending = r.unit.takeUnitAttention(r.nexus());
        Sense answer = pending != null ? pending : Sense.of(Sense.NO_SENSE, Sense.NO_ADDITIONAL_SENSE);
        return Request.data(answer.toBytes(), r.cdb[4] & 0xff);
    }

    // ------------------------------------------------------------ MODE SENSE / SELECT (SPC-4 6.11-6.14)

    CompletableFuture<ScsiResult> modeSense(Request r) {
        byte[] cdb = r.cdb;
        boolean ten = (cdb[0] & 0xff) == Commands.MODE_SENSE_10;
        boolean dbd = (cdb[1] & 0x08) != 0;
        boolean longLba = ten && (cdb[1] & 0x10) != 0;
        int pageControl = (cdb[2] & 0xff) >>> 6;
        int page = cdb[2] & 0x3f;
        int subpage = cdb[3] & 0xff;
        int allocation = ten ? Cdb.u16(cdb, 7) : cdb[4] & 0xff;
        if (pageControl == 3) {
            return Request.check(Sense.illegalRequest(Sense.SAVING_PARAMETERS_NOT_SUPPORTED));
        }
        if (subpage != 0 && !(page == PAGE_ALL && subpage == 0xff)) {
            return Request.check(Sense.invalidCdbField(3));
        }
        ByteArrayOutputStream pages = new ByteArrayOutputStream();
        if (page == PAGE_ALL) {
            pages.writeBytes(cachingPage(r.unit, pageControl));
            pages.writeBytes(controlPage(pageControl));
            pages.writeBytes(informationalExceptionsPage(pageControl));
        } else if (page == PAGE_CACHING) {
            pages.writeBytes(cachingPage(r.unit, pageControl));
        } else if (page == PAGE_CONTROL) {
            pages.writeBytes(controlPage(pageControl));
        } else if (page == PAGE_INFORMATIONAL_EXCEPTIONS) {
            pages.writeBytes(informationalExceptionsPage(pageControl));
        } else {
            return Request.check(Sense.invalidCdbField(2));
        }
        BlockVolume volume = r.unit.volume();
        byte[] descriptor = new byte[0];
        if (!dbd) {
            if (longLba) {
                descriptor = new byte[16];
                Cdb.put64(descriptor, 0, volume.blockCount());
                Cdb.put32(descriptor, 12, volume.blockSize());
            } else {
                descriptor = new byte[8];
                Cdb.put32(descriptor, 0, Math.min(volume.blockCount(), 0xffffffffL));
                Cdb.put32(descriptor, 4, volume.blockSize() & 0xffffff);
            }
        }
        int deviceSpecific = (r.unit.readOnly() ? 0x80 : 0) | 0x10; // WP, DPOFUA
        byte[] body = pages.toByteArray();
        byte[] data;
        if (ten) {
            data = new byte[8 + descriptor.length + body.length];
            Cdb.put16(data, 0, data.length - 2);
            data[3] = (byte) deviceSpecific;
            data[4] = (byte) (longLba ? 1 : 0);
            Cdb.put16(data, 6, descriptor.length);
            System.arraycopy(descriptor, 0, data, 8, descriptor.length);
            System.arraycopy(body, 0, data, 8 + descriptor.length, body.length);
        } else {
            data = new byte[4 + descriptor.length + body.length];
            data[0] = (byte) (data.length - 1);
            data[2] = (byte) deviceSpecific;
            data[3] = (byte) descriptor.length;
            System.arraycopy(descriptor, 0, data, 4, descriptor.length);
            System.arraycopy(body, 0, data, 4 + descriptor.length, body.length);
        }
        return Request.data(data, allocation);
    }

    /** Caching page (SBC-4 6.5.5): WCE as it really is; only WCE may be changed. */
    private static byte[] cachingPage(LogicalUnit unit, int pageControl) {
        byte[] page = new byte[20];
        page[0] = PAGE_CACHING;
        page[1] = 0x12;
        if (pageControl == 1) {
            page[2] = (byte) (unit.volume().writeCacheEnabled() ? 0x04 : 0);
        } else if (pageControl == 2) {
            page[2] = (byte) (unit.volume().writeCacheEnabled() ? 0x04 : 0);
        } else {
            page[2] = (byte) (unit.writeCacheEnabled() ? 0x04 : 0);
        }
        return page;
    }

    /** Control page (SPC-4 7.5.8): unrestricted reordering, fixed-format sense, nothing changeable. */
    private static byte[] controlPage(int pageControl) {
        byte[] page = new byte[12];
        page[0] = PAGE_CONTROL;
        page[1] = 0x0a;
        if (pageControl != 1) {
            page[3] = 0x10; // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering allowed
            Cdb.put16(page, 8, 0xffff); // BUSY TIMEOUT PERIOD: unlimited
        }
        return page;
    }

    /** Informational exceptions page (SPC-4 7.5.13): no reporting, nothing changeable. */
    private static byte[] informationalExceptionsPage(int pageControl) {
        byte[] page = new byte[12];
        page[0] = PAGE_INFORMATIONAL_EXCEPTIONS;
        page[1] = 0x0a;
        if (pageControl != 1) {
            page[2] = 0x08; // DEXCPT
        }
        return page;
    }

    CompletableFuture<ScsiResult> modeSelect(Request r) {
        byte[] cdb = r.cdb;
        boolean ten = (cdb[0] & 0xff) == Commands.MODE_SELECT_10;
        int length = ten ? Cdb.u16(cdb, 7) : cdb[4] & 0xff;
        if ((cdb[1] & 0x01) != 0) {
            return Request.check(Sense.invalidCdbField(1, 0), length); // SP: nothing is saved
        }
        if (length == 0) {
            return Request.goodAfterWriting(0);
        }
        ByteBuf data = r.takeDataOut();
        try {
            if (data.readableBytes() < length) {
                return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
            }
            byte[] list = new byte[length];
            data.getBytes(data.readerIndex(), list);
            int header = ten ? 8 : 4;
            if (length < header) {
                return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
            }
            int descriptors = ten ? Cdb.u16(list, 6) : list[3] & 0xff;
            int at = header + descriptors;
            if (at > length) {
                return Request.check(Sense.invalidParameter(ten ? 6 : 3), length);
            }
            boolean wce = r.unit.writeCacheEnabled();
            while (at < length) {
                if (at + 2 > length) {
                    return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
                }
                int page = list[at] & 0x3f;
                int pageLength = list[at + 1] & 0xff;
                if (at + 2 + pageLength > length) {
                    return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
                }
                byte[] current = switch (page) {
                    case PAGE_CACHING -> cachingPage(r.unit, 0);
                    case PAGE_CONTROL -> controlPage(0);
                    case PAGE_INFORMATIONAL_EXCEPTIONS -> informationalExceptionsPage(0);
                    default -> null;
                };
                if (current == null || pageLength != current.length - 2) {
                    return Request.check(Sense.invalidParameter(at), length);
                }
                for (int i = 2; i < current.length; i++) {
                    int changeable = page == PAGE_CACHING && i == 2 ? 0x04 : 0;
                    if (((list[at + i] ^ current[i]) & ~changeable & 0xff) != 0) {
                        return Request.check(Sense.invalidParameter(at + i), length);
                    }
                }
                if (page == PAGE_CACHING) {
                    wce = (list[at + 2] & 0x04) != 0;
                }
                at += 2 + pageLength;
            }
            if (wce != r.unit.writeCacheEnabled()) {
                CompletableFuture<ScsiResult> done = wce ? Request.goodAfterWriting(length)
                        : r.unit.volume().flush().thenApply(v -> new ScsiResult(ScsiResult.GOOD, null, null, length));
                r.unit.writeCacheEnabled(wce);
                r.unit.unitAttentionForOthers(r.nexus(), Sense.MODE_PARAMETERS_CHANGED);
                return done;
            }
            return Request.goodAfterWriting(length);
        } finally {
            data.release();
        }
    }

    // ------------------------------------------------------------ RESERVE / RELEASE (SPC-2 7.21, 7.17)

    CompletableFuture<ScsiResult> reserve(Request r) {
        if ((r.cdb[1] & 0x01) != 0 || ((r.cdb[0] & 0xff) == Commands.RESERVE_10 && (r.cdb[1] & 0x10) != 0)) {
            return Request.check(Sense.invalidCdbField(1)); // extents and third-party reservations
        }
        return r.unit.reserve(r.nexus()).thenCompose(held -> held ? Request.good() : Request.conflict());
    }

    CompletableFuture<ScsiResult> release(Request r) {
        if ((r.cdb[1] & 0x01) != 0 || ((r.cdb[0] & 0xff) == Commands.RELEASE_10 && (r.cdb[1] & 0x10) != 0)) {
            return Request.check(Sense.invalidCdbField(1));
        }
        return r.unit.release(r.nexus()).thenCompose(released -> Request.good());
    }

    // ------------------------------------------------------------ PERSISTENT RESERVE IN / OUT (SPC-4 6.15, 6.16)

    CompletableFuture<ScsiResult> persistentReserveIn(Request r) {
        if (r.unit.reservedByAnother(r.nexus())) {
            return Request.conflict();
        }
        int serviceAction = r.cdb[1] & 0x1f;
        int allocation = Cdb.u16(r.cdb, 7);
        Reservations.View view = r.unit.volume().reservations().view();
        byte[] data;
        switch (serviceAction) {
            case 0x00 -> { // READ KEYS
                data = new byte[8 + 8 * view.registrations().size()];
                Cdb.put32(data, 0, view.generation());
                Cdb.put32(data, 4, 8L * view.registrations().size());
                for (int i = 0; i < view.registrations().size(); i++) {
                    Cdb.put64(data, 8 + 8 * i, view.registrations().get(i).key());
                }
            }
            case 0x01 -> { // READ RESERVATION
                data = new byte[view.reserved() ? 24 : 8];
                Cdb.put32(data, 0, view.generation());
                if (view.reserved()) {
                    Cdb.put32(data, 4, 16);
                    Cdb.put64(data, 8, view.holderKey());
                    data[21] = (byte) view.type();
                }
            }
            case 0x02 -> { // REPORT CAPABILITIES
                data = new byte[8];
                Cdb.put16(data, 0, 8);
                data[2] = 0x10 | 0x01; // CRH: RESERVE(6) is handled as SPC-4 says; PTPL_C
                data[3] = (byte) (0x80 | (view.aptpl() ? 0x01 : 0)); // TMV, PTPL_A
                data[4] = (byte) (0x80 | 0x40 | 0x20 | 0x08 | 0x02); // WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX
                data[5] = 0x01; // EX_AC_AR
            }
            case 0x03 -> { // READ FULL STATUS
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                for (Reservations.Registration reg : view.registrations()) {
                    byte[] transportId = transportId(reg.initiatorPort());
                    byte[] d = new byte[24 + transportId.length];
                    Cdb.put64(d, 0, reg.key());
                    boolean holds = view.holds(reg.nexus());
                    d[12] = (byte) ((reg.allTargetPorts() ? 0x02 : 0) | (holds ? 0x01 : 0));
                    d[13] = (byte) (holds ? view.type() : 0);
                    Cdb.put16(d, 18, reg.relativeTargetPort());
                    Cdb.put32(d, 20, transportId.length);
                    System.arraycopy(transportId, 0, d, 24, transportId.length);
                    out.writeBytes(d);
                }
                byte[] descriptors = out.toByteArray();
                data = new byte[8 + descriptors.length];
                Cdb.put32(data, 0, view.generation());
                Cdb.put32(data, 4, descriptors.length);
                System.arraycopy(descriptors, 0, data, 8, descriptors.length);
            }
            default -> {
                return Request.check(Sense.invalidCdbField(1, 4));
            }
        }
        return Request.data(data, allocation);
    }

    /** An iSCSI initiator port TransportID (SPC-4 7.6.4.6, format 01b): "name,i,0x<ISID>". */
    private static byte[] transportId(String initiatorPort) {
        byte[] name = initiatorPort.getBytes(StandardCharsets.UTF_8);
        int length = (name.length + 1 + 3) & ~3;
        byte[] id = new byte[4 + length];
        id[0] = 0x45; // format 01b, protocol identifier 5 (iSCSI)
        Cdb.put16(id, 2, length);
        System.arraycopy(name, 0, id, 4, name.length);
        return id;
    }

    CompletableFuture<ScsiResult> persistentReserveOut(Request r) {
        long length = Cdb.u32(r.cdb, 5);
        if (r.unit.reservedByAnother(r.nexus())) { // checked again in the volume's order when applied
            return CompletableFuture.completedFuture(new ScsiResult(ScsiResult.RESERVATION_CONFLICT, null, null,
                    length));
        }
        ReservationCommand.Action action = ReservationCommand.Action.of(r.cdb[1] & 0x1f);
        if (action == null || action == ReservationCommand.Action.REGISTER_AND_MOVE) {
            return Request.check(Sense.invalidCdbField(1, 4), length);
        }
        if (length != 24) {
            return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
        }
        ByteBuf data = r.takeDataOut();
        byte[] list = new byte[24];
        try {
            if (data.readableBytes() < 24) {
                return Request.check(Sense.illegalRequest(Sense.PARAMETER_LIST_LENGTH_ERROR), length);
            }
            data.getBytes(data.readerIndex(), list);
        } finally {
            data.release();
        }
        int flags = list[20] & 0xff;
        if ((flags & 0x08) != 0) {
            return Request.check(Sense.invalidParameter(20), length); // SPEC_I_PT: not offered (SIP_C=0)
        }
        if ((flags & 0x04) != 0) {
            return Request.check(Sense.invalidParameter(20), length); // ALL_TG_PT: not offered (ATP_C=0)
        }
        ItNexus nexus = r.nexus();
        ReservationCommand command = new ReservationCommand(action, nexus.reservationKey(),
                nexus.initiatorPortName(), nexus.relativeTargetPort(), Cdb.u64(list, 0), Cdb.u64(list, 8),
                r.cdb[2] & 0x0f, (r.cdb[2] & 0xff) >>> 4, (flags & 0x01) != 0, false);
        // The unit attentions it establishes reach the registrants through the volume, on every node.
        return r.unit.volume().reserve(command).thenApply(outcome -> switch (outcome.result()) {
            case GOOD -> new ScsiResult(ScsiResult.GOOD, null, null, length);
            case RESERVATION_CONFLICT -> new ScsiResult(ScsiResult.RESERVATION_CONFLICT, null, null, length);
            case ILLEGAL_REQUEST -> Request.result(outcome.fieldPointer() < 0
                    ? Sense.illegalRequest(outcome.asc())
                    : new Sense(Sense.ILLEGAL_REQUEST, outcome.asc() >> 8, outcome.asc() & 0xff,
                            outcome.fieldPointer(), outcome.inCdb(), -1, -1), length);
        });
    }

    // ------------------------------------------------------------ reports (SPC-4 6.35, 6.36, 6.37)

    /** Every node's group with its state for this LUN's volume, each with its one port (SPC-4 6.36). */
    CompletableFuture<ScsiResult> reportTargetPortGroups(Request r) {
        long allocation = Cdb.u32(r.cdb, 6);
        boolean extended = ((r.cdb[1] & 0xe0) >>> 5) == 1;
        TargetPortGroups portGroups = target.portGroups();
        List<Integer> groups = portGroups.groups();
        int header = extended ? 8 : 4;
        byte[] data = new byte[header + 12 * groups.size()];
        Cdb.put32(data, 0, data.length - 4);
        if (extended) {
            data[4] = 0x10; // format type 1; implicit transitions take no time worth reporting
        }
        int at = header;
        for (int group : groups) {
            int state = portGroups.state(r.unit.volume(), group);
            data[at] = (byte) ((state == TargetPortGroups.ACTIVE_OPTIMIZED ? 0x80 : 0) | state); // PREF
            data[at + 1] = (byte) (0x80 | 0x02 | 0x01); // T_SUP AN_SUP AO_SUP: the states we use
            Cdb.put16(data, at + 2, group);
            data[at + 7] = 1; // one port per group: the node's portal group
            Cdb.put16(data, at + 10, group); // its relative target port identifier
            at += 12;
        }
        return Request.data(data, allocation);
    }

    CompletableFuture<ScsiResult> reportSupportedTmfs(Request r) {
        long allocation = Cdb.u32(r.cdb, 6);
        if (allocation < 4) {
            return Request.check(Sense.invalidCdbField(6));
        }
        byte[] data = new byte[4];
        data[0] = (byte) (0x80 | 0x40 | 0x10 | 0x08 | 0x02); // ATS ATSS CTSS LURS TRS
        return Request.data(data, allocation);
    }

    CompletableFuture<ScsiResult> reportSupportedOperationCodes(Request r) {
        byte[] cdb = r.cdb;
        boolean timeouts = (cdb[2] & 0x80) != 0;
        int option = cdb[2] & 0x07;
        int opcode = cdb[3] & 0xff;
        int serviceAction = Cdb.u16(cdb, 4);
        long allocation = Cdb.u32(cdb, 6);
        OpcodeTable table = target.table();
        if (option == 0) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (OpcodeTable.Entry e : table.all()) {
                byte[] d = new byte[8];
                d[0] = (byte) e.opcode();
                Cdb.put16(d, 2, Math.max(0, e.serviceAction()));
                d[5] = (byte) ((timeouts ? 0x02 : 0) | (e.hasServiceAction() ? 0x01 : 0));
                Cdb.put16(d, 6, e.usage().length);
                out.writeBytes(d);
                if (timeouts) {
                    out.writeBytes(timeoutsDescriptor());
                }
            }
            byte[] descriptors = out.toByteArray();
            byte[] data = new byte[4 + descriptors.length];
            Cdb.put32(data, 0, descriptors.length);
            System.arraycopy(descriptors, 0, data, 4, descriptors.length);
            return Request.data(data, allocation);
        }
        OpcodeTable.Entry entry;
        switch (option) {
            case 1 -> {
                if (table.hasServiceActions(opcode)) {
                    return Request.check(Sense.invalidCdbField(3));
                }
                entry = table.find(opcode, -1);
            }
            case 2 -> {
                if (!table.hasServiceActions(opcode)) {
                    return Request.check(Sense.invalidCdbField(3));
                }
                entry = table.find(opcode, serviceAction);
            }
            case 3 -> entry = table.hasServiceActions(opcode) ? table.find(opcode, serviceAction)
                    : table.find(opcode, -1);
            default -> {
                return Request.check(Sense.invalidCdbField(2, 0));
            }
        }
        byte[] data;
        if (entry == null) {
            data = new byte[4];
            data[1] = 0x01; // not supported
        } else {
            int[] usage = entry.usage();
            data = new byte[4 + usage.length + (timeouts ? 12 : 0)];
            data[1] = (byte) ((timeouts ? 0x80 : 0) | 0x03); // supported as the standard says
            Cdb.put16(data, 2, usage.length);
            for (int i = 0; i < usage.length; i++) {
                data[4 + i] = (byte) usage[i];
            }
            if (timeouts) {
                System.arraycopy(timeoutsDescriptor(), 0, data, 4 + usage.length, 12);
            }
        }
        return Request.data(data, allocation);
    }

    private static byte[] timeoutsDescriptor() {
        byte[] d = new byte[12];
        Cdb.put16(d, 0, 0x0a);
        Cdb.put32(d, 4, 30); // nominal command processing timeout, seconds
        Cdb.put32(d, 8, 60); // recommended command timeout, seconds
        return d;
    }
}

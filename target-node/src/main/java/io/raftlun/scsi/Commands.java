package io.raftlun.scsi;

import static io.raftlun.scsi.OpcodeTable.Access.ALWAYS;
import static io.raftlun.scsi.OpcodeTable.Access.INFORMATIONAL;
import static io.raftlun.scsi.OpcodeTable.Access.READ;
import static io.raftlun.scsi.OpcodeTable.Access.RESERVATION;
import static io.raftlun.scsi.OpcodeTable.Access.WRITE;

/**
 * The opcodes a disk serves and the table that maps them to the SPC and SBC handlers. The CDB
 * usage masks say which bits of each CDB byte the command looks at (SPC-4 6.35.3).
 */
final class Commands {

    static final int TEST_UNIT_READY = 0x00;
    static final int REQUEST_SENSE = 0x03;
    static final int READ_6 = 0x08;
    static final int WRITE_6 = 0x0a;
    static final int INQUIRY = 0x12;
    static final int MODE_SELECT_6 = 0x15;
    static final int RESERVE_6 = 0x16;
    static final int RELEASE_6 = 0x17;
    static final int MODE_SENSE_6 = 0x1a;
    static final int START_STOP_UNIT = 0x1b;
    static final int PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e;
    static final int READ_CAPACITY_10 = 0x25;
    static final int READ_10 = 0x28;
    static final int WRITE_10 = 0x2a;
    static final int WRITE_AND_VERIFY_10 = 0x2e;
    static final int VERIFY_10 = 0x2f;
    static final int PRE_FETCH_10 = 0x34;
    static final int SYNCHRONIZE_CACHE_10 = 0x35;
    static final int WRITE_SAME_10 = 0x41;
    static final int UNMAP = 0x42;
    static final int MODE_SELECT_10 = 0x55;
    static final int RESERVE_10 = 0x56;
    static final int RELEASE_10 = 0x57;
    static final int MODE_SENSE_10 = 0x5a;
    static final int PERSISTENT_RESERVE_IN = 0x5e;
    static final int PERSISTENT_RESERVE_OUT = 0x5f;
    static final int READ_16 = 0x88;
    static final int COMPARE_AND_WRITE = 0x89;
    static final int WRITE_16 = 0x8a;
    static final int WRITE_AND_VERIFY_16 = 0x8e;
    static final int VERIFY_16 = 0x8f;
    static final int PRE_FETCH_16 = 0x90;
    static final int SYNCHRONIZE_CACHE_16 = 0x91;
    static final int WRITE_SAME_16 = 0x93;
    static final int SERVICE_ACTION_IN_16 = 0x9e;
    static final int REPORT_LUNS = 0xa0;
    static final int MAINTENANCE_IN = 0xa3;
    static final int READ_12 = 0xa8;
    static final int WRITE_12 = 0xaa;
    static final int WRITE_AND_VERIFY_12 = 0xae;
    static final int VERIFY_12 = 0xaf;

    static final int READ_CAPACITY_16 = 0x10;
    static final int GET_LBA_STATUS = 0x12;
    static final int REPORT_TARGET_PORT_GROUPS = 0x0a;
    static final int REPORT_SUPPORTED_OPERATION_CODES = 0x0c;
    static final int REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS = 0x0d;

    private Commands() {
    }

    static OpcodeTable diskTable(BlockTarget target) {
        Spc spc = new Spc(target);
        Sbc sbc = new Sbc();
        return new OpcodeTable()
                .add(TEST_UNIT_READY, "TEST UNIT READY", INFORMATIONAL, r -> Request.good(),
                        0x00, 0x00, 0x00, 0x00, 0x00, 0x07)
                .add(REQUEST_SENSE, "REQUEST SENSE", ALWAYS, spc::requestSense, 0x03, 0x01, 0x00, 0x00, 0xff, 0x07)
                .add(INQUIRY, "INQUIRY", ALWAYS, spc::inquiry, 0x12, 0x01, 0xff, 0xff, 0xff, 0x07)
                .add(MODE_SELECT_6, "MODE SELECT(6)", WRITE, spc::modeSelect, 0x15, 0x11, 0x00, 0x00, 0xff, 0x07)
                .add(MODE_SELECT_10, "MODE SELECT(10)", WRITE, spc::modeSelect,
                        0x55, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07)
                .add(MODE_SENSE_6, "MODE SENSE(6)", READ, spc::modeSense, 0x1a, 0x08, 0xff, 0xff, 0xff, 0x07)
                .add(MODE_SENSE_10, "MODE SENSE(10)", READ, spc::modeSense,
                        0x5a, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07)
                .add(RESERVE_6, "RESERVE(6)", RESERVATION, spc::reserve, 0x16, 0x00, 0x00, 0x00, 0x00, 0x07)
                .add(RELEASE_6, "RELEASE(6)", RESERVATION, spc::release, 0x17, 0x00, 0x00, 0x00, 0x00, 0x07)
                .add(RESERVE_10, "RESERVE(10)", RESERVATION, spc::reserve,
                        0x56, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07)
                .add(RELEASE_10, "RELEASE(10)", RESERVATION, spc::release,
                        0x57, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07)
                .add(PERSISTENT_RESERVE_IN, "PERSISTENT RESERVE IN", RESERVATION, spc::persistentReserveIn,
                        0x5e, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07)
                .add(PERSISTENT_RESERVE_OUT, "PERSISTENT RESERVE OUT", RESERVATION, spc::persistentReserveOut,
                        0x5f, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x07)
                .add(REPORT_LUNS, "REPORT LUNS", ALWAYS, r -> Spc.reportLuns(target, r.cdb),
                        0xa0, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .addServiceAction(MAINTENANCE_IN, REPORT_TARGET_PORT_GROUPS, "REPORT TARGET PORT GROUPS", ALWAYS,
                        spc::reportTargetPortGroups,
                        0xa3, 0xea, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .addServiceAction(MAINTENANCE_IN, REPORT_SUPPORTED_OPERATION_CODES,
                        "REPORT SUPPORTED OPERATION CODES", ALWAYS, spc::reportSupportedOperationCodes,
                        0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .addServiceAction(MAINTENANCE_IN, REPORT_SUPPORTED_TASK_MANAGEMENT_FUNCTIONS,
                        "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", ALWAYS, spc::reportSupportedTmfs,
                        0xa3, 0x0d, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .add(START_STOP_UNIT, "START STOP UNIT", WRITE, r -> Request.good(),
                        0x1b, 0x01, 0x00, 0x0f, 0xf7, 0x07)
                .add(PREVENT_ALLOW_MEDIUM_REMOVAL, "PREVENT ALLOW MEDIUM REMOVAL", READ, r -> Request.good(),
                        0x1e, 0x00, 0x00, 0x00, 0x03, 0x07)
                .add(READ_CAPACITY_10, "READ CAPACITY(10)", INFORMATIONAL, sbc::readCapacity10,
                        0x25, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07)
                .addServiceAction(SERVICE_ACTION_IN_16, READ_CAPACITY_16, "READ CAPACITY(16)", INFORMATIONAL,
                        sbc::readCapacity16,
                        0x9e, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .addServiceAction(SERVICE_ACTION_IN_16, GET_LBA_STATUS, "GET LBA STATUS", READ, sbc::getLbaStatus,
                        0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(READ_6, "READ(6)", READ, sbc::read, 0x08, 0x1f, 0xff, 0xff, 0xff, 0x07)
                .add(READ_10, "READ(10)", READ, sbc::read,
                        0x28, 0x18, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(READ_12, "READ(12)", READ, sbc::read,
                        0xa8, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .add(READ_16, "READ(16)", READ, sbc::read,
                        0x88, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(WRITE_6, "WRITE(6)", WRITE, sbc::write, 0x0a, 0x1f, 0xff, 0xff, 0xff, 0x07)
                .add(WRITE_10, "WRITE(10)", WRITE, sbc::write,
                        0x2a, 0x18, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(WRITE_12, "WRITE(12)", WRITE, sbc::write,
                        0xaa, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .add(WRITE_16, "WRITE(16)", WRITE, sbc::write,
                        0x8a, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(WRITE_AND_VERIFY_10, "WRITE AND VERIFY(10)", WRITE, sbc::writeAndVerify,
                        0x2e, 0x12, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(WRITE_AND_VERIFY_12, "WRITE AND VERIFY(12)", WRITE, sbc::writeAndVerify,
                        0xae, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .add(WRITE_AND_VERIFY_16, "WRITE AND VERIFY(16)", WRITE, sbc::writeAndVerify,
                        0x8e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(VERIFY_10, "VERIFY(10)", READ, sbc::verify,
                        0x2f, 0x16, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(VERIFY_12, "VERIFY(12)", READ, sbc::verify,
                        0xaf, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07)
                .add(VERIFY_16, "VERIFY(16)", READ, sbc::verify,
                        0x8f, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(PRE_FETCH_10, "PRE-FETCH(10)", READ, sbc::preFetch,
                        0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(PRE_FETCH_16, "PRE-FETCH(16)", READ, sbc::preFetch,
                        0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(SYNCHRONIZE_CACHE_10, "SYNCHRONIZE CACHE(10)", WRITE, sbc::synchronizeCache,
                        0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(SYNCHRONIZE_CACHE_16, "SYNCHRONIZE CACHE(16)", WRITE, sbc::synchronizeCache,
                        0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(WRITE_SAME_10, "WRITE SAME(10)", WRITE, sbc::writeSame,
                        0x41, 0x08, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0x07)
                .add(WRITE_SAME_16, "WRITE SAME(16)", WRITE, sbc::writeSame,
                        0x93, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                        0x07)
                .add(UNMAP, "UNMAP", WRITE, sbc::unmap, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x07)
                .add(COMPARE_AND_WRITE, "COMPARE AND WRITE", WRITE, sbc::compareAndWrite,
                        0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00,
                        0x07);
    }
}

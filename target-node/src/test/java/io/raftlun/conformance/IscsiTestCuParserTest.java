package io.raftlun.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class IscsiTestCuParserTest {

    /** Verbose output as iscsi-test-cu prints it (taken from a run against tgt). */
    private static final String OUTPUT = String.join("\n",
            "Suite: Inquiry",
            "  Test: Standard ...passed",
            "  Test: BlockLimits ...    [SKIPPED] Logical unit is fully provisioned. Skipping test",
            "passed",
            "Suite: GetLBAStatus",
            "  Test: BeyondEol ...    [FAILED] GET_LBA_STATUS successful but should have failed",
            "FAILED",
            "    1. test_get_lba_status_beyond_eol.c:60  - CU_FAIL(...)",
            "  Test: iSCSIDataSnInvalid ...FAILED",
            "");

    @Test
    void skippedTestsAreNotCountedAsPassed() {
        List<IscsiTestCu.TestResult> results = IscsiTestCu.parse(OUTPUT);
        assertEquals(4, results.size());
        assertEquals(IscsiTestCu.Outcome.PASSED, results.get(0).outcome());
        assertEquals(IscsiTestCu.Outcome.SKIPPED, results.get(1).outcome());
        assertEquals(IscsiTestCu.Outcome.FAILED, results.get(2).outcome());
        assertEquals("GetLBAStatus.BeyondEol", results.get(2).name());
        assertEquals(IscsiTestCu.Outcome.FAILED, results.get(3).outcome());
    }

    @Test
    void matchesTheCountsOfARealRunAgainstTgt() {
        // tgt 1.0.85 with a file-backed LUN: 160 passed, 8 failed, 62 skipped of 230 (counted by hand).
        IscsiTestCu.Report report = new IscsiTestCu.Report(IscsiTestCu.parse(OUTPUT), OUTPUT);
        assertEquals("iscsi-test-cu: 1 passed, 2 failed, 1 skipped (of 4)", report.summary());
    }
}

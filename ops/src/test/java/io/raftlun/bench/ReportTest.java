package io.raftlun.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTest {

    private static List<Measurement> run(String target, double iops, double latencyMicros) {
        return List.of(new Measurement(target, "4k QD32 read IOPS", "IOPS", iops, true),
                new Measurement(target, "4k QD1 read latency", "µs", latencyMicros, false),
                new Measurement(target, "peak RSS under load", "MiB", 300, false));
    }

    @Test
    void mediansAndRatiosAreOrientedSoThatAboveOneIsBetter() {
        Report report = new Report("tgt");
        report.add(run("tgt", 1000, 100));
        report.add(run(RaftlunNodes.SINGLE, 1500, 80));
        report.add(run(RaftlunNodes.SINGLE, 1300, 90));
        report.add(run(RaftlunNodes.SINGLE, 1400, 85));
        assertEquals(1400, report.median(RaftlunNodes.SINGLE, "4k QD32 read IOPS"));
        assertEquals(1.4, report.ratio(RaftlunNodes.SINGLE, "4k QD32 read IOPS", true), 1e-9);
        assertEquals(100 / 85.0, report.ratio(RaftlunNodes.SINGLE, "4k QD1 read latency", false), 1e-9);
        assertFalse(report.markdown("machine").contains("Cost of metrics"), "no metrics-off run, no cost line");
    }

    @Test
    void theCostOfMetricsIsWhatTheNodeRecordingThemGivesUp() {
        Report report = new Report("tgt");
        report.add(run("tgt", 1000, 100));
        report.add(run(RaftlunNodes.SINGLE, 950, 105));
        report.add(run(RaftlunNodes.SINGLE_WITHOUT_METRICS, 1000, 100));
        String markdown = report.markdown("machine");
        assertTrue(markdown.contains("- 4k QD32 read IOPS: +5.0%"), markdown);
        assertTrue(markdown.contains("- 4k QD1 read latency: +5.0%"), markdown);
        assertFalse(markdown.contains("- peak RSS"), "memory is not a cost of throughput: " + markdown);
    }

    @Test
    void pairedRunsGiveTheCostInsteadOfRoundMedians() {
        Report report = new Report("tgt");
        report.add(run(RaftlunNodes.SINGLE, 950, 105));
        report.add(run(RaftlunNodes.SINGLE_WITHOUT_METRICS, 1000, 100));
        report.metricsCost(List.of(new MetricsCost.Cost("4k QD32 read", 0.012, 0.008, 6, -0.1, 0.15)));
        String markdown = report.markdown("machine");
        assertTrue(markdown.contains("| 4k QD32 read | +1.2% | +0.8% | 6 | -10.0% .. +15.0% |"), markdown);
        assertFalse(markdown.contains("- 4k QD32 read IOPS: +5.0%"), markdown);
    }

    @Test
    void aFailedRunIsListedWithTheResultsThatStillCount() {
        Report report = new Report("tgt");
        report.add(run("tgt", 1000, 100));
        report.add(run(RaftlunNodes.SINGLE, 1500, 80));
        assertFalse(report.markdown("machine").contains("Failed runs"));
        report.failed("round 2: the failover run failed: timed out");
        String markdown = report.markdown("machine");
        assertTrue(markdown.contains("**Failed runs**"), markdown);
        assertTrue(markdown.contains("- round 2: the failover run failed: timed out"), markdown);
        assertTrue(markdown.contains("| 4k QD32 read IOPS | IOPS |"), "the measured rounds stay: " + markdown);
    }

    @Test
    void aReferenceMedianOfZeroGivesNoRatio() {
        Report report = new Report("tgt");
        report.add(List.of(new Measurement("tgt", "4k QD32 write IOPS", "IOPS", 0, true)));
        report.add(List.of(new Measurement(RaftlunNodes.SINGLE, "4k QD32 write IOPS", "IOPS", 1200, true)));
        String markdown = report.markdown("machine");
        assertTrue(markdown.contains("| 4k QD32 write IOPS | IOPS | 0.00 | 1200 | – |"), markdown);
        assertFalse(markdown.contains("Infinity"), markdown);
    }

    @Test
    void theChartLeavesOutWhatHasNoReferenceValue() throws Exception {
        Report report = new Report("tgt");
        report.add(run("tgt", 1000, 100));
        report.add(run(RaftlunNodes.SINGLE, 1500, 80));
        report.add(List.of(new Measurement(RaftlunNodes.CLUSTER, "rebuild of a replica, copy rate", "MiB/s", 150, true)));
        assertEquals(List.of("4k QD32 read IOPS", "4k QD1 read latency", "peak RSS under load"),
                report.chartedMetrics().stream().map(Measurement::metric).toList());
        assertTrue(report.markdown("machine").contains("| rebuild of a replica, copy rate | MiB/s |"),
                "report.md keeps it");
        java.nio.file.Path png = java.nio.file.Files.createTempFile("ratios", ".png");
        try {
            report.chart(png);
            assertEquals(60 + (18 * 2 + 8) * 3, javax.imageio.ImageIO.read(png.toFile()).getHeight(),
                    "a row per charted metric");
        } finally {
            java.nio.file.Files.delete(png);
        }
    }

    @Test
    void aMetricNameWithACommaIsOneCsvField() throws Exception {
        Report report = new Report("tgt");
        report.add(List.of(new Measurement(RaftlunNodes.CLUSTER, "rebuild of a replica, copy rate", "MiB/s", 150, true)));
        java.nio.file.Path csv = java.nio.file.Files.createTempFile("measurements", ".csv");
        try {
            report.writeCsv(csv);
            assertEquals(List.of("target,metric,unit,value", "raftlun-rf3,\"rebuild of a replica, copy rate\",MiB/s,150.0"),
                    java.nio.file.Files.readAllLines(csv));
        } finally {
            java.nio.file.Files.delete(csv);
        }
        assertEquals("\"say \"\"hi\"\"\"", Report.csvField("say \"hi\""));
    }

    @Test
    void theMedianOfPairsIsTheMiddleOneOrTheMeanOfTheTwoMiddleOnes() {
        assertEquals(0.02, MetricsCost.median(new double[] {0.5, 0.02, -0.3}), 1e-12);
        assertEquals(0.015, MetricsCost.median(new double[] {0.5, 0.02, 0.01, -0.3}), 1e-12);
    }
}

package io.raftlun.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyHistogramsTest {

    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final LatencyHistograms histograms = new LatencyHistograms(registry.getPrometheusRegistry(), "node1");

    @Test
    void latenciesAreScrapedAsAPrometheusHistogramWithTheNodeLabel() {
        LatencyHistograms.Series reads = histograms.family("raftlun_test_seconds", "Test latency", "volume", "op")
                .series("vol-a", "read");
        reads.record(100_000); // on the 100 µs bound: counted in it
        reads.record(100_001);
        reads.record(3_000_000);
        reads.record(60_000_000_000L); // beyond the last bound: +Inf only

        String scrape = registry.scrape();
        String series = "node=\"node1\",op=\"read\",volume=\"vol-a\"";
        assertTrue(scrape.contains("# TYPE raftlun_test_seconds histogram"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_bucket{" + series + ",le=\"1.0E-4\"} 1\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_bucket{" + series + ",le=\"2.5E-4\"} 2\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_bucket{" + series + ",le=\"0.005\"} 3\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_bucket{" + series + ",le=\"10.0\"} 3\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_bucket{" + series + ",le=\"+Inf\"} 4\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_count{" + series + "} 4\n"), scrape);
        assertTrue(scrape.contains("raftlun_test_seconds_sum{" + series + "} 60.0032"), scrape);
        assertEquals(4, reads.count());
    }

    @Test
    void seriesOfThingsGoneFromTheNodeAreDropped() {
        LatencyHistograms.Family commits = histograms.family("raftlun_test_commit_seconds", "Test", "group");
        commits.series("vol-a").record(1_000);
        commits.series("vol-b").record(1_000);
        commits.retain(List.of("vol-b"));

        String scrape = registry.scrape();
        assertFalse(scrape.contains("group=\"vol-a\""), scrape);
        assertTrue(scrape.contains("raftlun_test_commit_seconds_count{group=\"vol-b\",node=\"node1\"} 1"), scrape);
        assertEquals(0, commits.series("vol-a").count(), "a series asked for again starts from zero");
    }

    @Test
    void histogramsOfANodeNotCollectingRecordNothing() {
        LatencyHistograms.Series series = LatencyHistograms.none().family("raftlun_test_seconds", "Test", "op")
                .series("read");
        series.record(1_000);
        assertEquals(0, series.count());
    }
}

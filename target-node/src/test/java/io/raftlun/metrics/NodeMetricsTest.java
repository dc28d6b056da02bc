package io.raftlun.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NodeMetricsTest {

    @Test
    void metersOfNewThingsAreRegisteredBetweenScrapesSoTheirFirstEventsCount() throws Exception {
        try (NodeMetrics metrics = new NodeMetrics("node1")) {
            CountDownLatch refreshed = new CountDownLatch(2);
            metrics.keepUpToDate(refreshed::countDown);
            assertTrue(refreshed.await(10, TimeUnit.SECONDS), "refreshed twice without any scrape");
        }
    }

    @Test
    void aRefreshThatFailsLeavesTheScrapeAndTheOtherRefreshesWorking() {
        try (NodeMetrics metrics = new NodeMetrics("node1")) {
            metrics.stopRefreshing();
            AtomicInteger later = new AtomicInteger();
            metrics.keepUpToDate(() -> {
                throw new IllegalStateException("closing");
            });
            metrics.keepUpToDate(later::incrementAndGet);
            assertTrue(metrics.scrape().contains("jvm_memory_used_bytes"));
            assertEquals(1, later.get());
        }
    }
}

package io.raftlun.metrics;

import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * The one set of histogram buckets every latency is published with: from 100 µs (a local read) to
 * 10 s (a write stalled by an election), about three per decade. Few enough to keep each series'
 * bucket count modest, fine enough for histogram_quantile in Grafana.
 */
public final class LatencyBuckets {

    private static final Duration[] BOUNDS = {
            Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000),
            Duration.ofMillis(1), Duration.ofNanos(2_500_000), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
            Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10)};

    private LatencyBuckets() {
    }

    /** A timer builder publishing these buckets as a Prometheus histogram. */
    public static Timer.Builder timer(String name) {
        return Timer.builder(name).serviceLevelObjectives(BOUNDS);
    }
}

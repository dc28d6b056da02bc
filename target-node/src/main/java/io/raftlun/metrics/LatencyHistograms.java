package io.raftlun.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot.HistogramDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The node's latency histograms, published as Prometheus classic histograms ({@code _bucket},
 * {@code _count}, {@code _sum}) next to the Micrometer meters, all with one set of buckets.
 *
 * <p>Not Micrometer timers: those are recorded on every I/O, twice (at the iSCSI layer and at the
 * volume), and a Micrometer timer costs 140 ns a record on one thread and 440 ns with two threads
 * recording (its time-window maximum and bucket counts are compare-and-set loops on shared
 * words), a few percent of a 15 µs request. A counter per bucket that spreads contention over
 * cells ({@link LongAdder}) records in 20-30 ns from any number of threads.
 */
public final class LatencyHistograms {

    /**
     * Bucket upper bounds: from 100 µs (a local read) to 10 s (a write stalled by an election),
     * about three per decade. Few enough to keep each series' bucket count modest, fine enough
     * for histogram_quantile in Grafana.
     */
    private static final long[] UPPER_BOUNDS_NANOS = {
            100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
            100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000L, 5_000_000_000L, 10_000_000_000L};
    private static final double[] UPPER_BOUNDS_SECONDS = new double[UPPER_BOUNDS_NANOS.length + 1];

    static {
        for (int i = 0; i < UPPER_BOUNDS_NANOS.length; i++) {
            UPPER_BOUNDS_SECONDS[i] = UPPER_BOUNDS_NANOS[i] / 1e9;
        }
        UPPER_BOUNDS_SECONDS[UPPER_BOUNDS_NANOS.length] = Double.POSITIVE_INFINITY;
    }

    private final PrometheusRegistry exportTo; // null: record nothing
    private final Labels constantLabels;
    private final Map<String, Family> families = new ConcurrentHashMap<>();
    private volatile boolean recording = true;

    /** {@link Family#start}'s answer while recording is off: {@link Series#recordSince} then records nothing. */
    public static final long NOT_RECORDED = Long.MIN_VALUE;

    /** Histograms published by {@code exportTo}, each series labelled with the node's name. */
    public LatencyHistograms(PrometheusRegistry exportTo, String nodeName) {
        this.exportTo = exportTo;
        this.constantLabels = Labels.of("node", nodeName);
    }

    private LatencyHistograms() {
        this.exportTo = null;
        this.constantLabels = Labels.EMPTY;
    }

    /** Histograms that record nothing (tests, tools, a node told not to collect metrics). */
    public static LatencyHistograms none() {
        return new LatencyHistograms();
    }

    /**
     * Whether the I/O path records its metrics (these histograms and the volumes' counters) now.
     * Switched off and on through the admin API by the benchmark, which compares runs with and
     * without recording in one process to measure what recording costs.
     */
    public boolean recording() {
        return recording;
    }

    public void recording(boolean on) {
        this.recording = on;
    }

    /** The histogram {@code name}, registered the first time it is asked for. */
    public Family family(String name, String help, String... labelNames) {
        return families.computeIfAbsent(name, n -> {
            Family family = new Family(n, help, labelNames);
            if (exportTo != null) {
                exportTo.register(family);
            }
            return family;
        });
    }

    /** One latency, by its labels: a metric name and a series for each set of label values. */
    public final class Family implements Collector {
        private final String name;
        private final String help;
        private final String[] labelNames;
        private final Map<List<String>, Series> series = new ConcurrentHashMap<>();

        private Family(String name, String help, String[] labelNames) {
            this.name = name;
            this.help = help;
            this.labelNames = labelNames.clone();
        }

        /** The series with these label values (in the order of the family's label names). */
        public Series series(String... labelValues) {
            if (labelValues.length != labelNames.length) {
                throw new IllegalArgumentException(name + " has labels " + Arrays.toString(labelNames));
            }
            if (exportTo == null) {
                return Series.NONE;
            }
            return series.computeIfAbsent(List.of(labelValues), values -> new Series());
        }

        /**
         * The start of something to time, for {@link Series#recordSince}: now, or {@link #NOT_RECORDED}
         * while recording is off or these histograms record nothing (so an I/O started then is not
         * counted, and reads no clock).
         */
        public long start() {
            return recording && exportTo != null ? System.nanoTime() : NOT_RECORDED;
        }

        /** Drops the series whose first label value is not in {@code kept} (things gone from the node). */
        public void retain(Collection<String> kept) {
            series.keySet().removeIf(values -> !kept.contains(values.get(0)));
        }

        @Override
        public String getPrometheusName() {
            return name;
        }

        @Override
        public MetricSnapshot collect() {
            HistogramSnapshot.Builder snapshot = HistogramSnapshot.builder().name(name).help(help);
            series.forEach((values, recorded) -> snapshot.dataPoint(recorded.snapshot(
                    constantLabels.merge(Labels.of(labelNames, values.toArray(String[]::new))))));
            return snapshot.build();
        }
    }

    /** One histogram series: a count per bucket and the sum of what was recorded. */
    public static class Series {

        /** A series that records nothing. */
        static final Series NONE = new Series() {
            @Override
            public void record(long nanos) {
            }
        };

        private final LongAdder[] buckets = new LongAdder[UPPER_BOUNDS_SECONDS.length];
        private final LongAdder sumNanos = new LongAdder();

        private Series() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        /** Records the time since {@code startNanos} from {@link Family#start}, unless it is {@link #NOT_RECORDED}. */
        public void recordSince(long startNanos) {
            if (startNanos != NOT_RECORDED) {
                record(System.nanoTime() - startNanos);
            }
        }

        public void record(long nanos) {
            int bucket = 0;
            while (bucket < UPPER_BOUNDS_NANOS.length && nanos > UPPER_BOUNDS_NANOS[bucket]) {
                bucket++;
            }
            buckets[bucket].increment();
            sumNanos.add(nanos);
        }

        /** How many latencies were recorded. */
        public long count() {
            long count = 0;
            for (LongAdder bucket : buckets) {
                count += bucket.sum();
            }
            return count;
        }

        HistogramDataPointSnapshot snapshot(Labels labels) {
            long[] counts = new long[buckets.length];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = buckets[i].sum();
            }
            return HistogramDataPointSnapshot.builder().labels(labels).sum(sumNanos.sum() / 1e9)
                    .classicHistogramBuckets(ClassicHistogramBuckets.of(UPPER_BOUNDS_SECONDS, counts)).build();
        }
    }
}

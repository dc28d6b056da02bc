package io.raftlun.metrics;

import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's metrics registry, exported in the Prometheus text format on the admin port. Every
 * meter carries the node's name, so a dashboard can tell the nodes of a cluster apart.
 */
public final class NodeMetrics implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);

    private final PrometheusMeterRegistry registry;
    private final LatencyHistograms histograms;
    private final JvmGcMetrics gc;
    private final List<Runnable> refreshes = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService refresher; // null when not collecting

    public NodeMetrics(String nodeName) {
        this(nodeName, true);
    }

    /**
     * {@code collecting} false: every meter is a no-op and {@code /metrics} is empty, so the
     * benchmark can measure what collecting costs (the I/O path is the same, only recording is skipped).
     */
    public NodeMetrics(String nodeName, boolean collecting) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        if (!collecting) {
            registry.config().meterFilter(MeterFilter.deny());
        }
        registry.config().commonTags(List.of(Tag.of("node", nodeName)));
        histograms = collecting ? new LatencyHistograms(registry.getPrometheusRegistry(), nodeName)
                : LatencyHistograms.none();
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        refresher = collecting ? Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "metrics-refresh");
            thread.setDaemon(true);
            return thread;
        }) : null;
        if (refresher != null) {
            refresher.scheduleWithFixedDelay(this::refreshAll, 1, 2, TimeUnit.SECONDS);
        }
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The latency histograms, exported with the registry's meters. */
    public LatencyHistograms histograms() {
        return histograms;
    }

    /**
     * Runs {@code refresh} every two seconds and before each scrape: it registers the meters of
     * things that appeared meanwhile (a volume, a Raft group joined). Not only at scrapes, so what
     * such a meter counts before the first scrape is not lost.
     */
    public void keepUpToDate(Runnable refresh) {
        refreshes.add(refresh);
    }

    /** The Prometheus exposition of every meter, as {@code /metrics} serves it. */
    public String scrape() {
        refreshAll();
        return registry.scrape();
    }

    private void refreshAll() {
        for (Runnable refresh : refreshes) {
            try {
                refresh.run();
            } catch (RuntimeException e) { // a component closing meanwhile: the rest is still worth serving
                log.warn("metrics of a component could not be brought up to date: {}", e.toString());
            }
        }
    }

    /** Stops the refreshes between scrapes: called before the components they look at close. */
    public void stopRefreshing() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
    }

    @Override
    public void close() {
        stopRefreshing();
        gc.close();
        registry.close();
    }
}

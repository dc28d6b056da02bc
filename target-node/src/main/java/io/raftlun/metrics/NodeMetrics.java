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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's metrics registry, exported in the Prometheus text format on the admin port. Every
 * meter carries the node's name, so a dashboard can tell the nodes of a cluster apart.
 */
public final class NodeMetrics implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final List<Runnable> beforeScrape = new CopyOnWriteArrayList<>();

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
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Runs {@code refresh} before each scrape: it registers the meters of things that appeared meanwhile. */
    public void beforeScrape(Runnable refresh) {
        beforeScrape.add(refresh);
    }

    /** The Prometheus exposition of every meter, as {@code /metrics} serves it. */
    public String scrape() {
        for (Runnable refresh : beforeScrape) {
            try {
                refresh.run();
            } catch (RuntimeException e) { // a component closing meanwhile: the rest is still worth serving
                log.warn("metrics of a component could not be brought up to date: {}", e.toString());
            }
        }
        return registry.scrape();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}

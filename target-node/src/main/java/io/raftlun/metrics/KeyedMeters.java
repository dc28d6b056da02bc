package io.raftlun.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Meters of things that come and go (volumes placed on this node, Raft groups joined): brought up
 * to date before each scrape, so new things get their meters and the meters of gone ones are
 * removed instead of reporting stale values forever.
 */
final class KeyedMeters {

    private final MeterRegistry registry;
    private final Map<String, List<Meter>> meters = new HashMap<>();

    KeyedMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the meters of each key of {@code present} not seen yet; removes those of keys gone. */
    synchronized void sync(Collection<String> present, Function<String, List<Meter>> register) {
        for (String key : List.copyOf(meters.keySet())) {
            if (!present.contains(key)) {
                meters.remove(key).forEach(registry::remove);
            }
        }
        for (String key : present) {
            if (!meters.containsKey(key)) {
                meters.put(key, register.apply(key));
            }
        }
    }
}

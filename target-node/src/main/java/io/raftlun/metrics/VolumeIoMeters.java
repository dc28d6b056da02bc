package io.raftlun.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.raftlun.scsi.Sense;
import io.raftlun.scsi.SenseCounter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * One volume's I/O meters on this node, resolved once when the volume is opened: an I/O only
 * increments and records, never looks a meter up or builds a tag.
 */
final class VolumeIoMeters implements SenseCounter {

    /** The kinds of I/O, each with its latency histogram, byte counter and error counter. */
    enum Op {
        READ, WRITE, UNMAP, FLUSH;

        final String label = name().toLowerCase(java.util.Locale.ROOT);
    }

    private final LongAdder inFlight = new LongAdder(); // a counter cell per contending thread, not one shared word
    private final LatencyHistograms.Family latencies;
    private final LatencyHistograms.Series[] latency = new LatencyHistograms.Series[Op.values().length];
    private final Counter[] bytes = new Counter[Op.values().length];
    private final Counter[] errors = new Counter[Op.values().length];
    private final Counter[] checkConditions = new Counter[16];

    VolumeIoMeters(MeterRegistry registry, LatencyHistograms.Family latencies, String volume) {
        this.latencies = latencies;
        Gauge.builder("raftlun_volume_queue_depth", inFlight, LongAdder::sum).tag("volume", volume)
                .description("Volume requests in flight on this node").register(registry);
        for (Op op : Op.values()) {
            latency[op.ordinal()] = latencies.series(volume, op.label);
            bytes[op.ordinal()] = Counter.builder("raftlun_volume_io_bytes_total")
                    .description("Bytes read, written or unmapped").tag("volume", volume).tag("op", op.label)
                    .register(registry);
            errors[op.ordinal()] = Counter.builder("raftlun_volume_io_errors_total")
                    .description("Volume requests that failed").tag("volume", volume).tag("op", op.label)
                    .register(registry);
        }
        for (int key = 0; key < checkConditions.length; key++) {
            String name = senseKeyName(key);
            if (name != null) {
                checkConditions[key] = Counter.builder("raftlun_scsi_check_conditions_total")
                        .description("Commands answered with CHECK CONDITION, by sense key")
                        .tag("volume", volume).tag("sense_key", name).register(registry);
            }
        }
    }

    /** SPC-4 4.5.6 sense keys worth a series; the rest are counted as "other". */
    private static String senseKeyName(int key) {
        return switch (key) {
            case Sense.NOT_READY -> "not_ready";
            case Sense.MEDIUM_ERROR -> "medium_error";
            case Sense.HARDWARE_ERROR -> "hardware_error";
            case Sense.ILLEGAL_REQUEST -> "illegal_request";
            case Sense.UNIT_ATTENTION -> "unit_attention";
            case Sense.DATA_PROTECT -> "data_protect";
            case Sense.ABORTED_COMMAND -> "aborted_command";
            case Sense.MISCOMPARE -> "miscompare";
            case 0 -> "other";
            default -> null;
        };
    }

    @Override
    public void checkCondition(int senseKey) {
        Counter counter = checkConditions[senseKey & 0x0f];
        (counter != null ? counter : checkConditions[0]).increment();
    }

    /** Counts a request of {@code op} moving {@code byteCount} bytes until {@code request} completes. */
    <T> CompletableFuture<T> track(Op op, long byteCount, CompletableFuture<T> request, long startNanos) {
        if (startNanos == LatencyHistograms.NOT_RECORDED) {
            return request;
        }
        if (request.isDone()) { // served inline (a cached read, a write to the page cache): no callback to allocate
            ended(op, byteCount, startNanos, request.isCompletedExceptionally());
        } else {
            request.whenComplete((result, failure) -> ended(op, byteCount, startNanos, failure != null));
        }
        return request;
    }

    private void ended(Op op, long byteCount, long startNanos, boolean failed) {
        inFlight.decrement();
        if (failed) {
            errors[op.ordinal()].increment();
        } else {
            latency[op.ordinal()].recordSince(startNanos);
            bytes[op.ordinal()].increment(byteCount);
        }
    }

    /**
     * Marks a request as started; returns its start time for {@link #track}, or
     * {@link LatencyHistograms#NOT_RECORDED} while recording is off (then it is not counted at all).
     */
    long start() {
        long start = latencies.start();
        if (start != LatencyHistograms.NOT_RECORDED) {
            inFlight.increment();
        }
        return start;
    }
}

package io.raftlun.iscsi;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The iSCSI front end's metrics, named for Prometheus (base units, {@code _total} counters):
 * sessions and connections, logins by outcome, rejected PDUs, digest errors, task management, and
 * command latency as the initiator sees it (arrival to response).
 */
public final class IscsiMetrics {

    private final MeterRegistry registry;
    private final AtomicInteger connections = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> sessionsByTarget = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> commandTimers = new ConcurrentHashMap<>();

    public IscsiMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("raftlun_iscsi_connections", connections, AtomicInteger::get)
                .description("Open iSCSI connections, logged in or not").register(registry);
    }

    /** Metrics that go nowhere (tests, tools). */
    public static IscsiMetrics none() {
        return new IscsiMetrics(new SimpleMeterRegistry());
    }

    public void connectionOpened() {
        connections.incrementAndGet();
    }

    public void connectionClosed() {
        connections.decrementAndGet();
    }

    public void sessionStarted(String target) {
        sessions(target).incrementAndGet();
    }

    public void sessionEnded(String target) {
        sessions(target).decrementAndGet();
    }

    private AtomicInteger sessions(String target) {
        return sessionsByTarget.computeIfAbsent(target, t -> {
            AtomicInteger count = new AtomicInteger();
            Gauge.builder("raftlun_iscsi_sessions", count, AtomicInteger::get).tag("target", t)
                    .description("Logged-in normal sessions").register(registry);
            return count;
        });
    }

    /** A login that ended: {@code result} is "success" or a failure reason (auth, acl, unknown_target, protocol). */
    public void login(String result) {
        counter("raftlun_iscsi_logins_total", "result", result, "Logins by result").increment();
    }

    public void pduRejected(int reason) {
        counter("raftlun_iscsi_pdus_rejected_total", "reason", "0x" + Integer.toHexString(reason),
                "PDUs answered with Reject, by reason code").increment();
    }

    /** {@code kind} is "header" or "data". */
    public void digestError(String kind) {
        counter("raftlun_iscsi_digest_errors_total", "kind", kind, "PDUs whose CRC32C digest did not match")
                .increment();
    }

    public void taskManagement(int function, int response) {
        counter("raftlun_iscsi_task_management_total", "function", Integer.toString(function),
                "Task management requests, by function").increment();
    }

    /** One SCSI command from arrival to response; {@code direction} is read, write or none. */
    public void command(String target, String direction, long nanos) {
        commandTimers.computeIfAbsent(target + '\0' + direction, k -> Timer.builder("raftlun_iscsi_command_seconds")
                        .description("SCSI command latency seen at the iSCSI layer")
                        .tag("target", target).tag("direction", direction)
                        .publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofNanos(20_000))
                        .maximumExpectedValue(Duration.ofSeconds(30))
                        .register(registry))
                .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private Counter counter(String name, String tag, String value, String description) {
        return counters.computeIfAbsent(name + '\0' + value,
                k -> Counter.builder(name).tag(tag, value).description(description).register(registry));
    }
}

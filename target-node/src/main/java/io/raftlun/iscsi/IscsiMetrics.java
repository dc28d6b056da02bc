package io.raftlun.iscsi;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftlun.iscsi.pdu.Reject;
import io.raftlun.iscsi.pdu.TaskManagementRequest;
import io.raftlun.metrics.LatencyHistograms;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The iSCSI front end's metrics, named for Prometheus (base units, {@code _total} counters):
 * connections, sessions by target and initiator, logins by outcome, rejected PDUs, digest errors,
 * task management, and command latency as the initiator sees it (arrival to response).
 *
 * <p>Counters whose labels are known in advance exist from the start at zero, so a rate over them
 * is 0 rather than no data, and an alert on them can tell "none" from "not exported".
 */
public final class IscsiMetrics {

    /** Login results: success and the failure reasons {@code LoginException.reason()} gives. */
    static final List<String> LOGIN_RESULTS = List.of("success", "auth", "acl", "unknown_target", "protocol",
            "target_error");

    private final MeterRegistry registry;
    private final AtomicInteger connections = new AtomicInteger();
    private final Map<Nexus, Live> live = new HashMap<>();
    private final Map<String, Counter> logins = new HashMap<>();
    private final Map<Integer, Counter> rejects = new ConcurrentHashMap<>();
    private final Map<Integer, Counter> taskManagement = new ConcurrentHashMap<>();
    private final Counter headerDigestErrors;
    private final Counter dataDigestErrors;
    private final LatencyHistograms.Family commandLatency;

    /** A target and an initiator: the labels of the per-session gauges. */
    private record Nexus(String target, String initiator) {
    }

    /** Sessions and their connections of one target and initiator, and the gauges showing them. */
    private static final class Live {
        final AtomicInteger sessions = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        List<Meter> gauges;
    }

    public IscsiMetrics(MeterRegistry registry, LatencyHistograms histograms) {
        this.registry = registry;
        this.commandLatency = histograms.family("raftlun_iscsi_command_seconds",
                "SCSI command latency seen at the iSCSI layer, arrival to response, of one command in "
                        + CommandTimers.TIMED_ONE_IN + " per connection (its count is not the number of commands)",
                "target", "direction");
        Gauge.builder("raftlun_iscsi_connections", connections, AtomicInteger::get)
                .description("Open iSCSI connections: logged in, logging in, discovery").register(registry);
        for (String result : LOGIN_RESULTS) {
            logins.put(result, Counter.builder("raftlun_iscsi_logins_total").tag("result", result)
                    .description("Logins by result: success or the reason of the refusal").register(registry));
        }
        for (int reason : new int[] {Reject.DATA_DIGEST_ERROR, Reject.PROTOCOL_ERROR, Reject.COMMAND_NOT_SUPPORTED,
                Reject.INVALID_PDU_FIELD}) {
            rejected(reason);
        }
        for (int function = TaskManagementRequest.ABORT_TASK; function <= TaskManagementRequest.TASK_REASSIGN;
                function++) {
            taskManagementCounter(function);
        }
        headerDigestErrors = digestCounter("header");
        dataDigestErrors = digestCounter("data");
    }

    /** Metrics that go nowhere (tests, tools). */
    public static IscsiMetrics none() {
        return new IscsiMetrics(new SimpleMeterRegistry(), LatencyHistograms.none());
    }

    public void connectionOpened() {
        connections.incrementAndGet();
    }

    public void connectionClosed() {
        connections.decrementAndGet();
    }

    /** A normal session logged in (each session has one connection: MaxConnections is 1). */
    public synchronized void sessionStarted(String target, String initiator) {
        Live counts = live.computeIfAbsent(new Nexus(target, initiator), this::gauges);
        counts.sessions.incrementAndGet();
        counts.connections.incrementAndGet();
    }

    /** The session's connection closed; the gauges of a pair with no session left go, so stale initiators do not pile up. */
    public synchronized void sessionEnded(String target, String initiator) {
        Nexus nexus = new Nexus(target, initiator);
        Live counts = live.get(nexus);
        if (counts == null) {
            return;
        }
        counts.connections.decrementAndGet();
        if (counts.sessions.decrementAndGet() <= 0) {
            live.remove(nexus);
            counts.gauges.forEach(registry::remove);
        }
    }

    private Live gauges(Nexus nexus) {
        Live counts = new Live();
        counts.gauges = List.of(
                Gauge.builder("raftlun_iscsi_sessions", counts.sessions, AtomicInteger::get)
                        .tag("target", nexus.target()).tag("initiator", nexus.initiator())
                        .description("Logged-in normal sessions").register(registry),
                Gauge.builder("raftlun_iscsi_session_connections", counts.connections, AtomicInteger::get)
                        .tag("target", nexus.target()).tag("initiator", nexus.initiator())
                        .description("Connections of logged-in normal sessions").register(registry));
        return counts;
    }

    /** A login that ended: {@code result} is "success" or a failure reason (auth, acl, unknown_target, protocol). */
    public void login(String result) {
        Counter counter = logins.get(result);
        (counter != null ? counter : logins.get("protocol")).increment();
    }

    public void pduRejected(int reason) {
        rejected(reason).increment();
    }

    private Counter rejected(int reason) {
        return rejects.computeIfAbsent(reason, r -> Counter.builder("raftlun_iscsi_pdus_rejected_total")
                .tag("reason", rejectReason(r)).description("PDUs answered with Reject, by reason")
                .register(registry));
    }

    /** RFC 7143 §11.17.1 reason codes in words. */
    static String rejectReason(int reason) {
        return switch (reason) {
            case Reject.DATA_DIGEST_ERROR -> "data_digest_error";
            case Reject.SNACK_REJECT -> "snack_reject";
            case Reject.PROTOCOL_ERROR -> "protocol_error";
            case Reject.COMMAND_NOT_SUPPORTED -> "command_not_supported";
            case Reject.IMMEDIATE_COMMAND_REJECT -> "immediate_command_reject";
            case Reject.TASK_IN_PROGRESS -> "task_in_progress";
            case Reject.INVALID_DATA_ACK -> "invalid_data_ack";
            case Reject.INVALID_PDU_FIELD -> "invalid_pdu_field";
            case Reject.OUT_OF_RESOURCES -> "out_of_resources";
            case Reject.WAITING_FOR_LOGOUT -> "waiting_for_logout";
            default -> "other";
        };
    }

    /** {@code kind} is "header" or "data". */
    public void digestError(String kind) {
        ("header".equals(kind) ? headerDigestErrors : dataDigestErrors).increment();
    }

    private Counter digestCounter(String kind) {
        return Counter.builder("raftlun_iscsi_digest_errors_total").tag("kind", kind)
                .description("PDUs whose CRC32C digest did not match").register(registry);
    }

    public void taskManagement(int function, int response) {
        taskManagementCounter(function).increment();
    }

    private Counter taskManagementCounter(int function) {
        return taskManagement.computeIfAbsent(function, f -> Counter.builder("raftlun_iscsi_task_management_total")
                .tag("function", taskFunction(f)).description("Task management requests, by function")
                .register(registry));
    }

    /** RFC 7143 §11.5.1 functions in words. */
    static String taskFunction(int function) {
        return switch (function) {
            case TaskManagementRequest.ABORT_TASK -> "abort_task";
            case TaskManagementRequest.ABORT_TASK_SET -> "abort_task_set";
            case TaskManagementRequest.CLEAR_ACA -> "clear_aca";
            case TaskManagementRequest.CLEAR_TASK_SET -> "clear_task_set";
            case TaskManagementRequest.LOGICAL_UNIT_RESET -> "logical_unit_reset";
            case TaskManagementRequest.TARGET_WARM_RESET -> "target_warm_reset";
            case TaskManagementRequest.TARGET_COLD_RESET -> "target_cold_reset";
            case TaskManagementRequest.TASK_REASSIGN -> "task_reassign";
            default -> "other";
        };
    }

    /**
     * The command latency timers of a connection logged in to {@code target}: its series are resolved
     * once per session so a command only records, and its sampling count is the connection's own.
     */
    public CommandTimers commandTimers(String target) {
        return new CommandTimers(commandLatency, target);
    }

    /**
     * Command latency seen at the iSCSI layer, by direction: read, write, or none (no data), for one
     * connection. The connection's first command is timed, then one in {@link #TIMED_ONE_IN}:
     * enough for percentiles at any rate worth watching. Timing every command would cost two more
     * clock reads per I/O on top of those of the volume's latency histogram, which counts every
     * request.
     */
    public static final class CommandTimers {
        public static final int TIMED_ONE_IN = 8;

        private final LatencyHistograms.Family latency;
        private final LatencyHistograms.Series read;
        private final LatencyHistograms.Series write;
        private final LatencyHistograms.Series none;
        private int untilTimed; // the connection's event loop is the only thread using it

        private CommandTimers(LatencyHistograms.Family latency, String target) {
            this.latency = latency;
            read = latency.series(target, "read");
            write = latency.series(target, "write");
            none = latency.series(target, "none");
        }

        /**
         * A command's arrival time, for {@link #record}, if this command is one of those timed;
         * {@link LatencyHistograms#NOT_RECORDED} (and no clock read) if not.
         */
        public long start() {
            if (--untilTimed > 0) {
                return LatencyHistograms.NOT_RECORDED;
            }
            untilTimed = TIMED_ONE_IN;
            return latency.start();
        }

        /** Records a command answered now that arrived at {@code arrivalNanos} (from {@link #start}). */
        public void record(boolean read, boolean write, long arrivalNanos) {
            (read ? this.read : write ? this.write : none).recordSince(arrivalNanos);
        }
    }
}

package io.raftlun.iscsi.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.raftlun.iscsi.BusyPolling;
import io.raftlun.iscsi.IscsiLimits;
import io.raftlun.iscsi.IscsiMetrics;
import io.raftlun.iscsi.IscsiSettings;
import io.raftlun.iscsi.TargetDirectory;
import io.raftlun.iscsi.TargetDirectory.IscsiTarget;
import io.raftlun.iscsi.login.LoginException;
import io.raftlun.iscsi.login.LoginNegotiation;
import io.raftlun.iscsi.login.SessionParameters;
import io.raftlun.iscsi.login.TextKeys;
import io.raftlun.iscsi.pdu.AsyncMessage;
import io.raftlun.iscsi.pdu.Bhs;
import io.raftlun.iscsi.pdu.DataIn;
import io.raftlun.iscsi.pdu.DataOut;
import io.raftlun.iscsi.pdu.IscsiPdu;
import io.raftlun.iscsi.pdu.LoginRequest;
import io.raftlun.iscsi.pdu.LoginResponse;
import io.raftlun.iscsi.pdu.LogoutRequest;
import io.raftlun.iscsi.pdu.LogoutResponse;
import io.raftlun.iscsi.pdu.MalformedPdu;
import io.raftlun.iscsi.pdu.NopIn;
import io.raftlun.iscsi.pdu.NopOut;
import io.raftlun.iscsi.pdu.PduDecoder;
import io.raftlun.iscsi.pdu.PduEncoder;
import io.raftlun.iscsi.pdu.ReadyToTransfer;
import io.raftlun.iscsi.pdu.Reject;
import io.raftlun.iscsi.pdu.ScsiCommandRequest;
import io.raftlun.iscsi.pdu.ScsiResponse;
import io.raftlun.iscsi.pdu.StatusSequence;
import io.raftlun.iscsi.pdu.TaskManagementRequest;
import io.raftlun.iscsi.pdu.TaskManagementResponse;
import io.raftlun.iscsi.pdu.TextRequest;
import io.raftlun.iscsi.pdu.TextResponse;
import io.raftlun.metrics.LatencyHistograms;
import io.raftlun.scsi.ItNexus;
import io.raftlun.scsi.LunAddress;
import io.raftlun.scsi.ScsiCommand;
import io.raftlun.scsi.ScsiResult;
import io.raftlun.scsi.ScsiTarget;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One iSCSI connection, which with MaxConnections=1 is one session: login, then full feature
 * phase (RFC 7143 §4, §11). Runs on its channel's event loop only; SCSI work completes futures
 * and the reply is written from here.
 */
public final class IscsiConnection extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(IscsiConnection.class);

    /** SAM task attribute ORDERED, as the SCSI Command PDU carries it (RFC 7143 §11.3.1.3). */
    private static final int ORDERED = 2;

    /**
     * LOGIN_HELD: the login is complete but not answered yet, while commands of the session's
     * previous connection still execute.
     */
    private enum State { LOGIN, LOGIN_HELD, FULL_FEATURE, LOGGING_OUT, CLOSED }

    /**
     * How long a login reinstating a session waits for the commands of its previous connection
     * (a replicated write waits out an election, a couple of seconds); after that the login is
     * refused as "service unavailable" and the initiator tries again later. Never answered before
     * they end: an old write landing after a new one would undo it.
     */
    static final java.time.Duration PREVIOUS_COMMANDS_DEADLINE = java.time.Duration.ofSeconds(10);

    private final TargetDirectory directory;
    private final IscsiSettings settings;
    private final SessionRegistry registry;
    private final IscsiMetrics metrics;
    private IscsiMetrics.CommandTimers commandTimers;
    private final PduDecoder decoder;
    private final PduEncoder encoder;

    private ChannelHandlerContext ctx;
    private State state = State.LOGIN;
    private LoginNegotiation login;
    private SessionParameters parameters;
    private IscsiTarget target;
    private ItNexus nexus;
    private SessionRegistry.SessionKey sessionKey;
    private boolean discovery;
    private int tsih;
    private int connectionId;
    private volatile boolean superseded;
    private boolean nexusEnded;
    private boolean sessionCounted; // in the sessions metric, from the login's answer on
    /** Once this connection ends: completes when none of its commands can change the medium any more. */
    private CompletableFuture<Void> commandsEnded;

    // Sequence numbers (RFC 7143 §4.2.2), serial-number arithmetic throughout.
    private int statSN;
    private int expCmdSN;
    private int advertisedMaxCmdSN;
    private final TreeMap<Integer, IscsiPdu> waitingForCmdSN = new TreeMap<>(IscsiConnection::compareSerial);

    private final Map<Integer, Task> tasks = new HashMap<>();
    /** Tasks whose data is complete but that wait behind an ORDERED task (SAM-5 8.6). */
    private final java.util.ArrayDeque<Task> blockedByOrder = new java.util.ArrayDeque<>();
    private int executing;
    private boolean orderedRunning;
    /**
     * Whether the initiator sent the last SCSI command with no other open and after it had every
     * status we sent (its ExpStatSN): one waiting for each answer, at queue depth 1. A deeper queue
     * of reads served at once can also leave no other command open, but not every status seen.
     */
    private boolean waitsForEachAnswer;
    private final Map<Integer, Task> tasksByTransferTag = new HashMap<>();
    private int nextTransferTag = 1;
    private LogoutRequest pendingLogout;

    /** Text answers longer than one PDU: the rest, by transfer tag (RFC 7143 §11.10.4). */
    private byte[] pendingText;
    private int pendingTextOffset;
    private int pendingTextTag;

    private int outstandingPingTag;
    private long pingSentNanos;

    public IscsiConnection(TargetDirectory directory, IscsiSettings settings, SessionRegistry registry,
                           IscsiMetrics metrics, PduDecoder decoder, PduEncoder encoder) {
        this.directory = directory;
        this.settings = settings;
        this.registry = registry;
        this.metrics = metrics;
        this.decoder = decoder;
        this.encoder = encoder;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        login = new LoginNegotiation(directory, peerAddress(), settings.portalGroupTag());
        metrics.connectionOpened();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof MalformedPdu malformed) {
                malformed(malformed);
            } else if (msg instanceof IscsiPdu pdu) {
                if (state == State.LOGIN) {
                    loginPhase(pdu);
                } else if (state == State.LOGIN_HELD) {
                    log.info("{}: {} while its login is not answered yet; closing", describePeer(), pdu.opcode());
                    ctx.close();
                } else if (state != State.CLOSED) {
                    fullFeaturePhase(pdu);
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // Back-pressure: while the initiator does not drain our Data-In, read no new commands.
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent) {
            if (state == State.FULL_FEATURE) {
                pingOrGiveUp();
            } else if (state == State.LOGIN) {
                // A connection that stalls in login holds a socket and nothing else: let it go.
                log.info("{}: login stalled; closing", describePeer());
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof java.io.IOException || cause instanceof io.netty.handler.codec.DecoderException) {
            log.warn("{}: closing connection: {}", describePeer(), cause.toString());
        } else {
            log.error("{}: closing connection after an unexpected failure", describePeer(), cause); // a bug: keep the trace
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        metrics.connectionClosed();
        if (sessionCounted) {
            metrics.sessionEnded(target.name(), nexus.initiatorName());
        }
        // The SCSI layer may still be executing some (a replicated write is committed or not):
        // a login reinstating the session waits until they ended.
        CompletableFuture<Void> ended = endCommands();
        tasks.clear();
        tasksByTransferTag.clear();
        waitingForCmdSN.values().forEach(ReferenceCountUtil::release);
        waitingForCmdSN.clear();
        if (sessionKey != null) {
            registry.commandsEnding(sessionKey, ended);
            registry.unregister(sessionKey, this);
            endNexus();
        }
        ctx.fireChannelInactive();
    }

    /** Text an initiator sent, made safe for a log line (no control characters, bounded length). */
    private static String printable(String text) {
        if (text == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), 200));
        for (int i = 0; i < text.length() && i < 200; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 200 ? out.append("...").toString() : out.toString();
    }

    // ---------------------------------------------------------------- login

    private void loginPhase(IscsiPdu pdu) {
        if (!(pdu instanceof LoginRequest request)) {
            log.info("{}: {} before login completed; closing", describePeer(), pdu.opcode());
            ctx.close();
            return;
        }
        boolean first = statSN == 0 && login.initiatorName() == null;
        if (first) {
            statSN = request.expStatSN();
            connectionId = request.connectionId();
        }
        expCmdSN = request.cmdSN();
        try {
            TextKeys keys = TextKeys.parse(request.data());
            LoginNegotiation.Step step = login.handle(request, keys);
            if (step.complete()) {
                completeLogin(request, step);
            } else {
                ctx.writeAndFlush(LoginResponse.of(step.transit(), false, step.currentStage(), step.nextStage(), request.isid(),
                        request.tsih(), request.initiatorTaskTag(), nextStatus(), 0, 0,
                        step.answers().encode(ctx.alloc())));
            }
        } catch (LoginException e) {
            refuseLogin(request, e);
        }
    }

    private void refuseLogin(LoginRequest request, LoginException e) {
        metrics.login(e.reason());
        log.warn("login refused: {} from {} (status 0x{}: {})", printable(login.initiatorName()), describePeer(),
                String.format("%04x", e.status()), printable(e.getMessage()));
        ctx.writeAndFlush(LoginResponse.of(false, false, request.currentStage(), 0, request.isid(),
                        request.tsih(), request.initiatorTaskTag(), nextStatus(), e.status() >> 8,
                        e.status() & 0xff, null))
                .addListener(ChannelFutureListener.CLOSE);
        state = State.CLOSED;
    }

    private void completeLogin(LoginRequest request, LoginNegotiation.Step step) throws LoginException {
        discovery = login.discovery();
        parameters = login.parameters();
        if (!discovery) {
            target = login.target();
            sessionKey = new SessionRegistry.SessionKey(login.initiatorName(), login.isid(), target.name());
            if (request.tsih() == 0) {
                tsih = registry.newTsih();
            } else {
                IscsiConnection existing = registry.find(sessionKey);
                if (existing == null || existing.tsih != request.tsih()) {
                    throw new LoginException(LoginException.SESSION_DOES_NOT_EXIST,
                            "no session with TSIH " + request.tsih());
                }
                if (existing.connectionId != request.connectionId()) {
                    throw new LoginException(LoginException.TOO_MANY_CONNECTIONS, "MaxConnections is 1");
                }
                tsih = request.tsih();
            }
            long fencingToken = settings.fencingToken().getAsLong();
            if (fencingToken < 0) {
                throw new LoginException(LoginException.SERVICE_UNAVAILABLE, "this node no longer holds this portal");
            }
            nexus = new ItNexus(login.initiatorName(), login.isid(), target.name(), settings.portalGroupTag(),
                    settings.portalGroupTag(), fencingToken);
            IscsiConnection replaced = registry.register(sessionKey, this);
            if (replaced != null) {
                // Session reinstatement (RFC 7143 §6.3.5): the old session's tasks end, its connection goes.
                replaced.superseded = true;
                CompletableFuture<Void> replacedCommandsEnded = new CompletableFuture<>();
                replaced.ctx.channel().eventLoop().execute(() -> replaced.closeReplaced()
                        .whenComplete((ended, failure) -> replacedCommandsEnded.complete(null)));
                registry.commandsEnding(sessionKey, replacedCommandsEnded);
                target.scsi().nexusClosed(nexus);
                log.info("{}: session {} reinstated", describePeer(), nexus.initiatorPortName());
            }
            target.scsi().nexusOpened(nexus);
            CompletableFuture<Void> previousCommandsEnded = registry.commandsEnded(sessionKey);
            if (!previousCommandsEnded.isDone()) {
                holdLogin(request, step, previousCommandsEnded);
                return;
            }
        } else {
            tsih = registry.newTsih();
        }
        answerLogin(request, step);
    }

    /**
     * Answers the login once the commands of the session's previous connection ended (RFC 7143
     * §6.3.5: the old session's tasks are terminated before the new session goes on), or refuses
     * it after {@link #PREVIOUS_COMMANDS_DEADLINE}.
     */
    private void holdLogin(LoginRequest request, LoginNegotiation.Step step, CompletableFuture<Void> previous) {
        state = State.LOGIN_HELD;
        log.info("{}: login of session {} waits until the commands of its previous connection ended", describePeer(),
                nexus.initiatorPortName());
        request.retain();
        previous.copy().orTimeout(PREVIOUS_COMMANDS_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                .whenComplete((ended, failure) -> ctx.executor().execute(() -> {
                    try {
                        if (state != State.LOGIN_HELD) {
                            return; // the connection closed meanwhile
                        }
                        if (failure != null) {
                            refuseLogin(request, new LoginException(LoginException.SERVICE_UNAVAILABLE, "commands of "
                                    + "the session's previous connection still executing after "
                                    + PREVIOUS_COMMANDS_DEADLINE.toSeconds() + " s"));
                        } else {
                            answerLogin(request, step);
                        }
                    } finally {
                        request.release();
                    }
                }));
    }

    private void answerLogin(LoginRequest request, LoginNegotiation.Step step) {
        state = State.FULL_FEATURE;
        metrics.login("success");
        if (!discovery) {
            metrics.sessionStarted(target.name(), nexus.initiatorName());
            sessionCounted = true;
            commandTimers = metrics.commandTimers(target.name());
        }
        advertisedMaxCmdSN = expCmdSN + IscsiLimits.COMMAND_WINDOW - 1;
        ctx.writeAndFlush(LoginResponse.of(true, false, step.currentStage(), step.nextStage(), request.isid(), tsih,
                request.initiatorTaskTag(), nextStatus(), 0, 0, step.answers().encode(ctx.alloc())));
        // Digests and the new segment limits apply from the first full-feature PDU (RFC 7143 §13.1).
        encoder.enableDigests(parameters.headerDigest(), parameters.dataDigest());
        decoder.enableDigests(parameters.headerDigest(), parameters.dataDigest());
        decoder.maxDataSegmentLength(parameters.targetMaxRecvDataSegmentLength());
        log.info("{}: {} session for {} logged in to {} (tsih {}, digests {}/{})", describePeer(),
                discovery ? "discovery" : "normal", login.initiatorName(), discovery ? "-" : target.name(), tsih,
                parameters.headerDigest() ? "CRC32C" : "None", parameters.dataDigest() ? "CRC32C" : "None");
    }

    /** Ends this connection, its session reinstated elsewhere; completes once none of its commands can change the medium. */
    private CompletableFuture<Void> closeReplaced() {
        CompletableFuture<Void> ended = endCommands();
        if (state != State.CLOSED) {
            ctx.close();
        }
        return ended;
    }

    /**
     * Aborts every command as this connection ends, the first time it is called (the connection
     * replaced, or closed: whichever comes first); completes once none of them can change the medium.
     */
    private CompletableFuture<Void> endCommands() {
        if (commandsEnded == null) {
            commandsEnded = abortWhere(task -> true);
        }
        return commandsEnded;
    }

    // ---------------------------------------------------------------- full feature phase

    private void fullFeaturePhase(IscsiPdu pdu) {
        switch (pdu.opcode()) {
            case SCSI_DATA_OUT -> dataOut((DataOut) pdu);
            case SNACK_REQUEST -> reject(Reject.PROTOCOL_ERROR, pdu); // no SNACK at ErrorRecoveryLevel 0
            case SCSI_COMMAND, NOP_OUT, TEXT_REQUEST, LOGOUT_REQUEST, TASK_MANAGEMENT_REQUEST -> ordered(pdu);
            case LOGIN_REQUEST -> reject(Reject.PROTOCOL_ERROR, pdu);
            default -> reject(Reject.PROTOCOL_ERROR, pdu); // a target opcode from the initiator
        }
    }

    /** Delivers commands in CmdSN order; immediate ones at once (RFC 7143 §4.2.2.1). */
    private void ordered(IscsiPdu pdu) {
        if (pdu.immediate()) {
            deliver(pdu);
            return;
        }
        int cmdSN = cmdSNOf(pdu);
        if (cmdSN == expCmdSN) {
            expCmdSN++;
            deliver(pdu);
            while (!waitingForCmdSN.isEmpty() && waitingForCmdSN.firstKey() == expCmdSN) {
                IscsiPdu next = waitingForCmdSN.pollFirstEntry().getValue();
                expCmdSN++;
                try {
                    deliver(next);
                } finally {
                    next.release();
                }
            }
        } else if (compareSerial(cmdSN, expCmdSN) > 0 && compareSerial(cmdSN, advertisedMaxCmdSN) <= 0
                && !waitingForCmdSN.containsKey(cmdSN)) {
            waitingForCmdSN.put(cmdSN, (IscsiPdu) pdu.retain());
        } else {
            // Outside the window, or a duplicate: silently ignored (RFC 7143 §4.2.2.1).
            log.debug("{}: ignoring CmdSN {} outside [{}, {}]", describePeer(), cmdSN, expCmdSN, advertisedMaxCmdSN);
        }
    }

    private static int cmdSNOf(IscsiPdu pdu) {
        if (pdu instanceof ScsiCommandRequest c) {
            return c.cmdSN();
        } else if (pdu instanceof NopOut n) {
            return n.cmdSN();
        } else if (pdu instanceof TextRequest t) {
            return t.cmdSN();
        } else if (pdu instanceof LogoutRequest l) {
            return l.cmdSN();
        } else if (pdu instanceof TaskManagementRequest t) {
            return t.cmdSN();
        }
        throw new IllegalArgumentException(pdu.opcode() + " carries no CmdSN");
    }

    private void deliver(IscsiPdu pdu) {
        if (state != State.FULL_FEATURE && !(pdu instanceof NopOut)) {
            return; // logging out: nothing new starts
        }
        if (pdu instanceof ScsiCommandRequest c) {
            scsiCommand(c);
        } else if (pdu instanceof NopOut n) {
            nopOut(n);
        } else if (pdu instanceof TextRequest t) {
            text(t);
        } else if (pdu instanceof LogoutRequest l) {
            logout(l);
        } else if (pdu instanceof TaskManagementRequest t) {
            taskManagement(t);
        } else {
            reject(Reject.PROTOCOL_ERROR, pdu);
        }
    }

    // ---------------------------------------------------------------- SCSI commands and data

    private void scsiCommand(ScsiCommandRequest command) {
        if (discovery) {
            reject(Reject.PROTOCOL_ERROR, command); // discovery sessions carry no SCSI (RFC 7143 §4.3)
            return;
        }
        int itt = command.initiatorTaskTag();
        if (itt == Bhs.RESERVED_TAG || tasks.containsKey(itt)) {
            reject(Reject.INVALID_PDU_FIELD, command);
            return;
        }
        Task task = new Task(command, LunAddress.decode(command.lunField()), commandTimers.start());
        int immediateLength = command.data().readableBytes();
        if (task.write && task.expectedLength > IscsiLimits.MAX_TRANSFER_BYTES) {
            // Never buffer more than one command may transfer; the initiator is told, not starved.
            respondWithoutData(task, Sense.INVALID_FIELD_IN_CDB);
            return;
        }
        if (immediateLength > 0 && (!task.write || !parameters.immediateData()
                || immediateLength > Math.min(parameters.firstBurstLength(), task.writeLength()))) {
            reject(Reject.PROTOCOL_ERROR, command);
            return;
        }
        waitsForEachAnswer = tasks.isEmpty() && command.expStatSN() == statSN;
        tasks.put(itt, task);
        if (task.write) {
            task.data = ctx.alloc().compositeBuffer(64);
            if (immediateLength > 0) {
                task.data.addComponent(true, command.data().retain());
                task.received = immediateLength;
            }
            task.unsolicitedPending = !command.finalBit() && !parameters.initialR2T();
            if (!command.finalBit() && parameters.initialR2T()) {
                reject(Reject.PROTOCOL_ERROR, command);
                abort(task);
                return;
            }
            if (!task.unsolicitedPending) {
                task.solicitedEnd = task.received;
                solicit(task);
            }
        }
        maybeExecute(task);
    }

    private void dataOut(DataOut pdu) {
        Task task = tasks.get(pdu.initiatorTaskTag());
        if (task == null || !task.write || task.executing || task.aborted) {
            return; // data for a task that ended (aborted or failed): dropped
        }
        int length = pdu.data().readableBytes();
        int offset = pdu.bufferOffset();
        int ttt = pdu.targetTransferTag();
        int[] r2t = null;
        if (ttt == Bhs.RESERVED_TAG) {
            boolean inWindow = task.unsolicitedPending
                    && offset + (long) length <= Math.min(parameters.firstBurstLength(), task.writeLength());
            if (!inWindow || pdu.dataSN() != task.unsolicitedDataSN) {
                dataPhaseError(task, "unsolicited Data-Out outside FirstBurstLength or out of DataSN order");
                return;
            }
            task.unsolicitedDataSN++;
        } else {
            r2t = task.openR2Ts.get(ttt);
            if (r2t == null || offset < r2t[0] || offset + (long) length > r2t[0] + (long) r2t[1]
                    || pdu.dataSN() != r2t[2]) {
                dataPhaseError(task, "Data-Out does not match its R2T (offset " + offset + ", DataSN "
                        + pdu.dataSN() + ")");
                return;
            }
            r2t[2]++;
        }
        if (offset != task.received || length > parameters.targetMaxRecvDataSegmentLength()) {
            dataPhaseError(task, "Data-Out at offset " + offset + " where " + task.received + " was expected");
            return;
        }
        if (length > 0) {
            task.data.addComponent(true, pdu.data().retain());
            task.received += length;
        }
        if (pdu.finalBit()) {
            if (r2t == null) {
                task.unsolicitedPending = false;
                task.solicitedEnd = Math.max(task.solicitedEnd, task.received);
            } else {
                task.openR2Ts.remove(ttt);
                tasksByTransferTag.remove(ttt);
                task.outstandingR2Ts--;
            }
            solicit(task);
        }
        maybeExecute(task);
    }

    /** Sends R2Ts for write data not yet asked for, within MaxOutstandingR2T (RFC 7143 §4.2.5.2). */
    private void solicit(Task task) {
        if (task.unsolicitedPending) {
            return;
        }
        int total = task.writeLength();
        while (task.solicitedEnd < total && task.outstandingR2Ts < parameters.maxOutstandingR2T()) {
            int length = Math.min(parameters.maxBurstLength(), total - task.solicitedEnd);
            int ttt = newTransferTag();
            task.openR2Ts.put(ttt, new int[] {task.solicitedEnd, length, 0});
            tasksByTransferTag.put(ttt, task);
            task.outstandingR2Ts++;
            ctx.write(ReadyToTransfer.of(task.lunField, task.itt, ttt, currentStatus(), task.r2tSN++,
                    task.solicitedEnd, length));
            task.solicitedEnd += length;
        }
        ctx.flush();
    }

    private int newTransferTag() {
        int tag;
        do {
            tag = nextTransferTag++;
        } while (tag == Bhs.RESERVED_TAG || tag == 0 || tasksByTransferTag.containsKey(tag));
        return tag;
    }

    private void dataPhaseError(Task task, String detail) {
        log.info("{}: task 0x{}: {}", describePeer(), Integer.toHexString(task.itt), detail);
        for (Integer ttt : task.openR2Ts.keySet()) {
            tasksByTransferTag.remove(ttt);
        }
        task.openR2Ts.clear();
        respondWithoutData(task, Sense.DATA_PHASE_ERROR);
    }

    private void maybeExecute(Task task) {
        if (task.executing || task.aborted || (task.write && task.received < task.writeLength())) {
            return;
        }
        // SAM-5 8.6: an ORDERED task starts after every older task ended, and younger ones wait for it.
        boolean ordered = task.taskAttribute == ORDERED;
        if (orderedRunning || !blockedByOrder.isEmpty() || (ordered && executing > 0)) {
            if (!blockedByOrder.contains(task)) {
                blockedByOrder.add(task);
            }
            return;
        }
        start(task);
    }

    private void startUnblockedTasks() {
        while (!blockedByOrder.isEmpty() && !orderedRunning) {
            Task next = blockedByOrder.peek();
            if (next.aborted) {
                blockedByOrder.poll();
                continue;
            }
            if (next.taskAttribute == ORDERED && executing > 0) {
                return;
            }
            blockedByOrder.poll();
            start(next);
        }
    }

    private void start(Task task) {
        task.executing = true;
        executing++;
        orderedRunning |= task.taskAttribute == ORDERED;
        ByteBuf data = task.data == null ? Unpooled.EMPTY_BUFFER : task.data;
        task.data = null;
        ScsiCommand command = new ScsiCommand(nexus, task.lun, task.cdb, task.itt & 0xffffffffL,
                task.taskAttribute, (int) Math.min(task.expectedLength, Integer.MAX_VALUE), task.read, task.write,
                data);
        ScsiTarget scsi = target.scsi();
        scsi.execute(command).whenComplete((result, failure) -> {
            if (ctx.executor().inEventLoop()) {
                completed(task, result, failure);
            } else {
                ctx.executor().execute(() -> completed(task, result, failure));
            }
        });
    }

    private void completed(Task task, ScsiResult result, Throwable failure) {
        executing--;
        task.ended = true;
        if (task.endWaiter != null) {
            task.endWaiter.complete(null);
        }
        if (task.taskAttribute == ORDERED) {
            orderedRunning = false;
        }
        if (failure != null) {
            log.error("{}: SCSI layer failed task 0x{} instead of answering", describePeer(),
                    Integer.toHexString(task.itt), failure);
            result = new ScsiResult(ScsiResult.CHECK_CONDITION, Sense.INTERNAL_TARGET_FAILURE, null, 0);
        }
        if (task.aborted || state == State.CLOSED || tasks.get(task.itt) != task) {
            result.release();
            if (state != State.CLOSED) {
                startUnblockedTasks();
            }
            return;
        }
        if (result.closesConnection()) {
            log.info("{}: a newer holder of this portal has changed the volume; closing this stale connection, "
                    + "so the initiator resends its commands to that holder", describePeer());
            ctx.close();
            return;
        }
        tasks.remove(task.itt);
        respond(task, result);
        if (tasks.isEmpty() && waitsForEachAnswer) {
            BusyPolling.pollBeforeSleeping(); // its next command is a few tens of µs away
        }
        startUnblockedTasks();
        finishLogoutIfIdle();
    }

    private void respond(Task task, ScsiResult result) {
        commandTimers.record(task.read, task.write, task.arrivalNanos);
        long residual = task.expectedLength - result.commandLength();
        ByteBuf data = result.data();
        int dataLength = data == null ? 0 : (int) Math.min(data.readableBytes(), task.expectedLength);
        if (!task.read) {
            dataLength = 0;
        }
        boolean statusInData = dataLength > 0 && result.senseData() == null;
        int sent = 0;
        int burstStart = 0;
        int segment = parameters.initiatorMaxRecvDataSegmentLength();
        while (sent < dataLength) {
            int length = Math.min(segment, dataLength - sent);
            length = Math.min(length, burstStart + parameters.maxBurstLength() - sent);
            ByteBuf slice = data.retainedSlice(data.readerIndex() + sent, length);
            boolean last = sent + length == dataLength;
            boolean endOfBurst = last || sent + length == burstStart + parameters.maxBurstLength();
            if (last && statusInData) {
                ctx.write(DataIn.withStatus(task.itt, result.status(), nextStatus(), task.dataSN++, sent, residual,
                        slice));
            } else {
                ctx.write(DataIn.of(endOfBurst, task.itt, currentStatus(), task.dataSN++, sent, slice));
            }
            sent += length;
            if (endOfBurst) {
                burstStart = sent;
            }
        }
        if (!statusInData) {
            ByteBuf sense = null;
            if (result.senseData() != null) {
                byte[] bytes = result.senseData();
                sense = ctx.alloc().buffer(2 + bytes.length).writeShort(bytes.length).writeBytes(bytes);
            }
            int expDataSN = task.read ? task.dataSN : task.r2tSN;
            ctx.write(ScsiResponse.of(task.itt, ScsiResponse.COMMAND_COMPLETED, result.status(), nextStatus(),
                    expDataSN, residual, sense));
        }
        result.release();
        ctx.flush();
    }

    /** Ends a task with CHECK CONDITION and no data (before it reached the SCSI layer). */
    private void respondWithoutData(Task task, byte[] sense) {
        tasks.remove(task.itt);
        task.aborted = true;
        task.releaseData();
        respond(task, new ScsiResult(ScsiResult.CHECK_CONDITION, sense, null, task.writeLength()));
        finishLogoutIfIdle();
    }

    /**
     * Aborts a task: it gets no answer. Completes once it can no longer change the medium, that is
     * at once unless the SCSI layer is executing it; then when that ends (a replicated write may
     * still be committed), so a command the initiator sends after the abort's answer is never
     * overtaken by the aborted one.
     */
    private CompletableFuture<Void> abort(Task task) {
        task.aborted = true;
        task.releaseData();
        for (Integer ttt : task.openR2Ts.keySet()) {
            tasksByTransferTag.remove(ttt);
        }
        tasks.remove(task.itt);
        if (blockedByOrder.remove(task)) {
            startUnblockedTasks();
        }
        if (!task.executing || task.ended) {
            return CompletableFuture.completedFuture(null);
        }
        if (task.endWaiter == null) {
            task.endWaiter = new CompletableFuture<>();
        }
        return task.endWaiter;
    }

    // ---------------------------------------------------------------- task management

    private void taskManagement(TaskManagementRequest request) {
        int function = request.function();
        long lun = LunAddress.decode(request.lunField());
        CompletableFuture<Integer> response;
        if (discovery) {
            response = done(TaskManagementResponse.FUNCTION_REJECTED);
        } else {
            response = switch (function) {
                case TaskManagementRequest.ABORT_TASK -> abortTask(request);
                case TaskManagementRequest.ABORT_TASK_SET, TaskManagementRequest.CLEAR_TASK_SET,
                        TaskManagementRequest.LOGICAL_UNIT_RESET -> {
                    if (!target.scsi().hasLun(lun)) {
                        yield done(TaskManagementResponse.LUN_DOES_NOT_EXIST);
                    }
                    CompletableFuture<Void> aborted = abortWhere(task -> task.lun == lun);
                    if (function == TaskManagementRequest.ABORT_TASK_SET) {
                        yield aborted.thenApply(ended -> TaskManagementResponse.FUNCTION_COMPLETE);
                    }
                    ScsiTarget.Reset reset = function == TaskManagementRequest.CLEAR_TASK_SET
                            ? ScsiTarget.Reset.CLEAR_TASK_SET : ScsiTarget.Reset.LOGICAL_UNIT_RESET;
                    yield aborted.thenCompose(ended -> complete(target.scsi().reset(nexus, reset, lun)));
                }
                case TaskManagementRequest.TARGET_WARM_RESET, TaskManagementRequest.TARGET_COLD_RESET ->
                        abortWhere(task -> true).thenCompose(ended -> complete(
                                target.scsi().reset(nexus, ScsiTarget.Reset.TARGET_RESET, lun)));
                case TaskManagementRequest.TASK_REASSIGN -> done(TaskManagementResponse.REASSIGNMENT_NOT_SUPPORTED);
                default -> done(TaskManagementResponse.FUNCTION_NOT_SUPPORTED);
            };
        }
        // A reset completes once every node serving the LUN has raised its unit attention.
        response.whenComplete((outcome, failure) -> ctx.executor().execute(
                () -> taskManagementDone(request, function, lun,
                        failure == null ? outcome : TaskManagementResponse.FUNCTION_REJECTED)));
    }

    private static CompletableFuture<Integer> done(int response) {
        return CompletableFuture.completedFuture(response);
    }

    /** FUNCTION COMPLETE once the reset is done; a reset the cluster could not carry out failed. */
    private CompletableFuture<Integer> complete(CompletableFuture<Void> reset) {
        return reset.handle((ignored, failure) -> {
            if (failure != null) {
                log.warn("{}: reset could not be announced to the other nodes: {}", describePeer(), failure.toString());
                return TaskManagementResponse.FUNCTION_REJECTED;
            }
            return TaskManagementResponse.FUNCTION_COMPLETE;
        });
    }

    private void taskManagementDone(TaskManagementRequest request, int function, long lun, int response) {
        log.info("{}: task management function {} on LUN {}: response {}", describePeer(), function, lun, response);
        metrics.taskManagement(function, response);
        if (!ctx.channel().isActive()) {
            return;
        }
        ChannelFutureListener after = function == TaskManagementRequest.TARGET_COLD_RESET
                && response == TaskManagementResponse.FUNCTION_COMPLETE ? ChannelFutureListener.CLOSE : null;
        var written = ctx.writeAndFlush(TaskManagementResponse.of(response, request.initiatorTaskTag(), nextStatus()));
        if (after != null) {
            written.addListener(after);
        }
    }

    private CompletableFuture<Integer> abortTask(TaskManagementRequest request) {
        int referenced = request.referencedTaskTag();
        Task task = tasks.get(referenced);
        if (task != null) {
            return abort(task).thenApply(ended -> TaskManagementResponse.FUNCTION_COMPLETE);
        }
        if (abortWaiting(t -> t.itt == referenced)) {
            return done(TaskManagementResponse.FUNCTION_COMPLETE);
        }
        // RFC 7143 §11.5.1: a task not yet received (its CmdSN still in the window, before this
        // request's) counts as received and aborted; a task already completed (its CmdSN below the
        // window) does not exist any more.
        int refCmdSN = request.refCmdSN();
        boolean inGap = compareSerial(refCmdSN, expCmdSN) >= 0 && compareSerial(refCmdSN, request.cmdSN()) < 0;
        return done(inGap ? TaskManagementResponse.FUNCTION_COMPLETE : TaskManagementResponse.TASK_DOES_NOT_EXIST);
    }

    /** Aborts the tasks {@code which} selects; completes once none of them can change the medium. */
    private CompletableFuture<Void> abortWhere(java.util.function.Predicate<Task> which) {
        List<Task> doomed = new ArrayList<>();
        for (Task task : tasks.values()) {
            if (which.test(task)) {
                doomed.add(task);
            }
        }
        doomed.forEach(task -> task.aborted = true); // none of them starts while the others are aborted
        CompletableFuture<?>[] ended = doomed.stream().map(this::abort).toArray(CompletableFuture[]::new);
        abortWaiting(which);
        return CompletableFuture.allOf(ended);
    }

    /**
     * Commands still waiting for a gap in CmdSN belong to the task set too. Each is replaced by a
     * placeholder that only keeps its CmdSN, so the initiator's numbering stays valid.
     *
     * @return whether any command was aborted
     */
    private boolean abortWaiting(java.util.function.Predicate<Task> which) {
        List<Integer> doomed = new ArrayList<>();
        for (Map.Entry<Integer, IscsiPdu> waiting : waitingForCmdSN.entrySet()) {
            if (waiting.getValue() instanceof ScsiCommandRequest c
                    && which.test(new Task(c, LunAddress.decode(c.lunField()), LatencyHistograms.NOT_RECORDED))) {
                doomed.add(waiting.getKey());
            }
        }
        for (int cmdSN : doomed) {
            IscsiPdu command = waitingForCmdSN.put(cmdSN,
                    NopOut.of(true, Bhs.RESERVED_TAG, Bhs.RESERVED_TAG, cmdSN, 0, null));
            command.release();
        }
        return !doomed.isEmpty();
    }

    // ---------------------------------------------------------------- NOP, text, logout

    private void nopOut(NopOut nop) {
        if (nop.initiatorTaskTag() == Bhs.RESERVED_TAG) {
            if (nop.targetTransferTag() == outstandingPingTag) {
                outstandingPingTag = 0; // the initiator answered our ping
            }
            return; // an answer to our ping, or a CmdSN placeholder: no reply
        }
        ctx.writeAndFlush(NopIn.reply(nop.initiatorTaskTag(), nop.lunField(), nextStatus(), nop.data().retain()));
    }

    private void pingOrGiveUp() {
        if (settings.nopInInterval().isZero()) {
            return;
        }
        if (outstandingPingTag != 0) {
            long waited = System.nanoTime() - pingSentNanos;
            if (waited >= settings.nopInTimeout().toNanos()) {
                log.warn("{}: initiator did not answer NOP-In for {} ms; dropping the connection", describePeer(),
                        waited / 1_000_000);
                ctx.close();
            }
            return;
        }
        outstandingPingTag = newTransferTag();
        pingSentNanos = System.nanoTime();
        ctx.writeAndFlush(NopIn.ping(outstandingPingTag, currentStatus()));
    }

    private void text(TextRequest request) {
        int segment = parameters.initiatorMaxRecvDataSegmentLength();
        if (request.targetTransferTag() != Bhs.RESERVED_TAG) {
            if (pendingText == null || request.targetTransferTag() != pendingTextTag) {
                reject(Reject.INVALID_PDU_FIELD, request);
                return;
            }
        } else {
            TextKeys keys;
            try {
                keys = TextKeys.parse(request.data());
            } catch (LoginException e) {
                reject(Reject.PROTOCOL_ERROR, request);
                return;
            }
            pendingText = answerText(keys).toBytes();
            pendingTextOffset = 0;
            pendingTextTag = newTransferTag();
        }
        int length = Math.min(segment, pendingText.length - pendingTextOffset);
        boolean more = pendingTextOffset + length < pendingText.length;
        ByteBuf chunk = Unpooled.wrappedBuffer(pendingText, pendingTextOffset, length);
        pendingTextOffset += length;
        int ttt = more ? pendingTextTag : Bhs.RESERVED_TAG;
        ctx.writeAndFlush(TextResponse.of(!more, more, 0, request.initiatorTaskTag(), ttt, nextStatus(), chunk));
        if (!more) {
            pendingText = null;
        }
    }

    private TextKeys answerText(TextKeys keys) {
        TextKeys answers = new TextKeys();
        for (Map.Entry<String, String> offer : keys.asMap().entrySet()) {
            if (offer.getKey().equals("SendTargets")) {
                sendTargets(offer.getValue(), answers);
            } else {
                answers.put(offer.getKey(), "NotUnderstood");
            }
        }
        return answers;
    }

    /**
     * SendTargets (RFC 7143 §12.3): "All" in a discovery session lists every target this initiator
     * may log in to; a name lists that target; in a normal session, empty means the session's own.
     */
    private void sendTargets(String value, TextKeys answers) {
        List<IscsiTarget> listed = new ArrayList<>();
        java.net.InetAddress peer = peerAddress();
        if (value.equals("All") && discovery) {
            for (IscsiTarget t : directory.all()) {
                if (t.admits(login.initiatorName(), peer)) {
                    listed.add(t);
                }
            }
        } else if (value.isEmpty() && !discovery) {
            listed.add(target);
        } else if (!value.equals("All")) {
            directory.find(value).filter(t -> t.admits(login.initiatorName(), peer))
                    .ifPresent(listed::add);
        } else {
            answers.put("SendTargets", "Reject");
            return;
        }
        // TextKeys holds one value per key; SendTargets answers repeat keys, so build the text here.
        StringBuilder text = new StringBuilder();
        for (IscsiTarget t : listed) {
            text.append("TargetName=").append(t.name()).append('\0');
            List<String> portals = settings.announcesOnlyItself()
                    ? List.of(reachable("0.0.0.0:" + localPort() + "," + settings.portalGroupTag())) : t.portals();
            for (String portal : portals) {
                text.append("TargetAddress=").append(reachable(portal)).append('\0');
            }
        }
        answers.putRaw(text.toString());
    }

    private int localPort() {
        return ctx.channel().localAddress() instanceof InetSocketAddress local ? local.getPort() : 0;
    }

    /** A portal bound to the wildcard address is announced with the address this connection reached. */
    private String reachable(String portal) {
        if (!(ctx.channel().localAddress() instanceof InetSocketAddress local)) {
            return portal;
        }
        String host = local.getAddress().getHostAddress();
        if (local.getAddress() instanceof java.net.Inet6Address) {
            host = "[" + host + "]";
        }
        if (portal.startsWith("0.0.0.0:")) {
            return host + portal.substring("0.0.0.0".length());
        }
        if (portal.startsWith("[::]:")) {
            return host + portal.substring("[::]".length());
        }
        return portal;
    }

    private void logout(LogoutRequest request) {
        int reason = request.reasonCode();
        if (reason == LogoutRequest.REMOVE_CONNECTION_FOR_RECOVERY) {
            ctx.writeAndFlush(LogoutResponse.of(LogoutResponse.RECOVERY_NOT_SUPPORTED, request.initiatorTaskTag(),
                    nextStatus(), 0, 0));
            return;
        }
        if (reason == LogoutRequest.CLOSE_CONNECTION && request.connectionId() != connectionId) {
            ctx.writeAndFlush(LogoutResponse.of(LogoutResponse.CID_NOT_FOUND, request.initiatorTaskTag(),
                    nextStatus(), 0, 0));
            return;
        }
        state = State.LOGGING_OUT;
        pendingLogout = request;
        // Tasks still gathering write data will get no more of it: they end here.
        List<Task> gathering = new ArrayList<>();
        for (Task task : tasks.values()) {
            if (!task.executing) {
                gathering.add(task);
            }
        }
        gathering.forEach(this::abort);
        finishLogoutIfIdle();
    }

    /** The Logout Response goes out once every task started before it has answered. */
    private void finishLogoutIfIdle() {
        if (pendingLogout == null || !tasks.isEmpty()) {
            return;
        }
        LogoutRequest request = pendingLogout;
        pendingLogout = null;
        // What the session held is released on every node before the initiator hears it is closed,
        // so a command it sends next through another node's portal no longer meets its RESERVE(6).
        endNexus().whenComplete((released, failure) -> ctx.executor().execute(() -> {
            ctx.writeAndFlush(LogoutResponse.of(LogoutResponse.CLOSED, request.initiatorTaskTag(), nextStatus(),
                    parameters.defaultTime2Wait(), parameters.defaultTime2Retain()))
                    .addListener(ChannelFutureListener.CLOSE);
            log.info("{}: logged out", describePeer());
        }));
    }

    /** The I_T nexus ends once: at logout, or when the connection goes; a reinstated session's goes at login. */
    private CompletableFuture<Void> endNexus() {
        if (nexusEnded || superseded || target == null || nexus == null) { // nexus: once the login completed
            return CompletableFuture.completedFuture(null);
        }
        nexusEnded = true;
        return target.scsi().nexusClosed(nexus);
    }

    /** Asks the initiator to log out (shutdown, maintenance) within {@code seconds}. */
    public void requestLogout(int seconds) {
        ctx.executor().execute(() -> {
            if (state == State.FULL_FEATURE) {
                ctx.writeAndFlush(AsyncMessage.of(0, nextStatus(), AsyncMessage.LOGOUT_REQUESTED, 0, 0, seconds, null));
            }
        });
    }

    // ---------------------------------------------------------------- errors and sequence numbers

    private void malformed(MalformedPdu malformed) {
        log.info("{}: malformed PDU: {}", describePeer(), malformed.detail());
        metrics.pduRejected(malformed.reason());
        if (malformed.reason() == Reject.DATA_DIGEST_ERROR) {
            metrics.digestError("data");
        } else if (malformed.detail().startsWith("header digest")) {
            metrics.digestError("header");
        }
        boolean loggingIn = state == State.LOGIN || state == State.LOGIN_HELD; // no Reject before the login's answer
        if (malformed.framingLost() || loggingIn) {
            if (!loggingIn) {
                ctx.write(Reject.of(malformed.reason(), malformed.header(), nextStatus()));
            }
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            state = State.CLOSED;
            return;
        }
        ctx.writeAndFlush(Reject.of(malformed.reason(), malformed.header(), nextStatus()));
    }

    private void reject(int reason, IscsiPdu pdu) {
        log.info("{}: rejecting {} (reason 0x{})", describePeer(), pdu, Integer.toHexString(reason));
        metrics.pduRejected(reason);
        ctx.writeAndFlush(Reject.of(reason, pdu.bhsBytes(), nextStatus()));
    }

    /** Sequence numbers for a PDU that carries a new StatSN (responses). */
    private StatusSequence nextStatus() {
        StatusSequence sequence = new StatusSequence(statSN, expCmdSN, maxCmdSN());
        statSN++;
        return sequence;
    }

    /** Sequence numbers for a PDU that does not advance StatSN (R2T, Data-In without status, pings). */
    private StatusSequence currentStatus() {
        return new StatusSequence(statSN, expCmdSN, maxCmdSN());
    }

    /** The window shrinks as tasks pile up, so a flood of commands cannot make us buffer without end. */
    private int maxCmdSN() {
        int open = Math.max(0, IscsiLimits.COMMAND_WINDOW - tasks.size() - waitingForCmdSN.size());
        int max = expCmdSN + open - 1;
        if (compareSerial(max, advertisedMaxCmdSN) > 0) {
            advertisedMaxCmdSN = max;
        }
        return max;
    }

    /** Serial number comparison (RFC 1982) for 32-bit sequence numbers. */
    static int compareSerial(int a, int b) {
        return Integer.compare(a - b, 0);
    }

    java.net.InetAddress peerAddress() {
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress peer) {
            return peer.getAddress();
        }
        return java.net.InetAddress.getLoopbackAddress(); // in-memory channels in tests
    }

    private String describePeer() {
        return ctx == null ? "?" : String.valueOf(ctx.channel().remoteAddress());
    }

    /** Fixed-format sense data the transport itself produces (the SCSI layer makes all others). */
    static final class Sense {
        static final byte[] INVALID_FIELD_IN_CDB = fixed(0x05, 0x24, 0x00);
        static final byte[] DATA_PHASE_ERROR = fixed(0x0b, 0x4b, 0x00);
        static final byte[] INTERNAL_TARGET_FAILURE = fixed(0x04, 0x44, 0x00);

        private static byte[] fixed(int key, int asc, int ascq) {
            byte[] sense = new byte[18];
            sense[0] = 0x70;
            sense[2] = (byte) key;
            sense[7] = 10;
            sense[12] = (byte) asc;
            sense[13] = (byte) ascq;
            return sense;
        }
    }
}

package io.raftlun.iscsi.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import io.raftlun.iscsi.BusyPolling;
import io.raftlun.iscsi.FixedDirectory;
import io.raftlun.iscsi.IscsiSettings;
import io.raftlun.iscsi.TargetDirectory.ChapAccount;
import io.raftlun.iscsi.pdu.Bhs;
import io.raftlun.iscsi.pdu.DataIn;
import io.raftlun.iscsi.pdu.DataOut;
import io.raftlun.iscsi.pdu.IscsiPdu;
import io.raftlun.iscsi.pdu.LoginResponse;
import io.raftlun.iscsi.pdu.LogoutRequest;
import io.raftlun.iscsi.pdu.LogoutResponse;
import io.raftlun.iscsi.pdu.NopIn;
import io.raftlun.iscsi.pdu.NopOut;
import io.raftlun.iscsi.pdu.ReadyToTransfer;
import io.raftlun.iscsi.pdu.Reject;
import io.raftlun.iscsi.pdu.ScsiCommandRequest;
import io.raftlun.iscsi.pdu.ScsiResponse;
import io.raftlun.iscsi.pdu.TaskManagementRequest;
import io.raftlun.iscsi.pdu.TaskManagementResponse;
import io.raftlun.iscsi.pdu.TextRequest;
import io.raftlun.iscsi.pdu.TextResponse;
import io.raftlun.scsi.ScsiResult;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class IscsiConnectionTest {

    private static final String IQN = "iqn.2026-11.io.raftlun:test";
    private static final byte[] TEST_UNIT_READY = new byte[6];
    private static final byte[] READ_10 = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
    private static final byte[] WRITE_10 = {0x2a, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0};

    private final FakeScsiTarget scsi = new FakeScsiTarget();
    private FixedDirectory directory = new FixedDirectory()
            .add(FixedDirectory.Target.open(IQN, scsi, "127.0.0.1:3260,1", "127.0.0.2:3260,2"));
    private TestInitiator initiator;

    @AfterEach
    void closeChannel() {
        if (initiator != null) {
            initiator.close();
        }
    }

    private TestInitiator connect() {
        initiator = new TestInitiator(directory);
        return initiator;
    }

    private TestInitiator loggedIn(Map<String, String> keys) {
        LoginResponse response = connect().loginNormal(IQN, keys);
        assertEquals(0, response.statusClass());
        response.release();
        return initiator;
    }

    @Test
    void loginWithoutAuthenticationNegotiatesEveryOfferedKey() {
        Map<String, String> offers = new LinkedHashMap<>();
        offers.put("HeaderDigest", "CRC32C,None");
        offers.put("DataDigest", "None");
        offers.put("MaxConnections", "4");
        offers.put("InitialR2T", "No");
        offers.put("ImmediateData", "Yes");
        offers.put("MaxRecvDataSegmentLength", "65536");
        offers.put("MaxBurstLength", "16776192");
        offers.put("FirstBurstLength", "262144");
        offers.put("DefaultTime2Wait", "0");
        offers.put("DefaultTime2Retain", "20");
        offers.put("MaxOutstandingR2T", "1");
        offers.put("ErrorRecoveryLevel", "2");
        offers.put("IFMarker", "No");
        offers.put("OFMarkInt", "2048~8192");
        offers.put("X-com.example.Vendor", "1");
        LoginResponse response = connect().loginNormal(IQN, offers);
        assertEquals(0, response.statusClass(), "status");
        assertTrue(response.transit());
        assertEquals(3, response.nextStage());
        assertNotEquals(0, response.tsih());
        Map<String, String> answers = TestInitiator.parse(response);
        assertEquals("CRC32C", answers.get("HeaderDigest"));
        assertEquals("None", answers.get("DataDigest"));
        assertEquals("1", answers.get("MaxConnections"));
        assertEquals("No", answers.get("InitialR2T"));
        assertEquals("Yes", answers.get("ImmediateData"));
        assertEquals("1048576", answers.get("MaxBurstLength"));
        assertEquals("262144", answers.get("FirstBurstLength"));
        assertEquals("2", answers.get("DefaultTime2Wait"));
        assertEquals("0", answers.get("DefaultTime2Retain"));
        assertEquals("1", answers.get("MaxOutstandingR2T"));
        assertEquals("0", answers.get("ErrorRecoveryLevel"));
        assertEquals("No", answers.get("IFMarker"));
        assertEquals("Irrelevant", answers.get("OFMarkInt"));
        assertEquals("NotUnderstood", answers.get("X-com.example.Vendor"));
        assertEquals("1", answers.get("TargetPortalGroupTag"));
        assertEquals("262144", answers.get("MaxRecvDataSegmentLength"));
        response.release();
        assertTrue(scsi.events.get(0).startsWith("opened:" + TestInitiator.INITIATOR + ",i,0x23d0"));
    }

    @Test
    void outOfRangeValueIsAnsweredReject() {
        LoginResponse response = connect().loginNormal(IQN, Map.of("MaxBurstLength", "12"));
        assertEquals(0, response.statusClass());
        assertEquals("Reject", TestInitiator.parse(response).get("MaxBurstLength"));
        response.release();
    }

    @Test
    void unknownTargetIsRefusedWithNotFoundAndTheConnectionCloses() {
        LoginResponse response = connect().loginNormal("iqn.2026-11.io.raftlun:nope", Map.of());
        assertEquals(0x02, response.statusClass());
        assertEquals(0x03, response.statusDetail());
        response.release();
        assertFalse(initiator.target.isOpen());
    }

    @Test
    void initiatorOutsideTheAclIsRefusedWithAuthorizationFailure() {
        directory = new FixedDirectory().add(FixedDirectory.Target.open(IQN, scsi).onlyFor("iqn.2026-11.other:x"));
        LoginResponse response = connect().loginNormal(IQN, Map.of());
        assertEquals(0x0202, response.statusClass() << 8 | response.statusDetail());
        response.release();
        assertTrue(scsi.events.isEmpty(), "no nexus for a refused login");
    }

    @Test
    void targetWithChapRefusesAnInitiatorSkippingSecurity() {
        directory = new FixedDirectory().add(FixedDirectory.Target.open(IQN, scsi)
                .withChap(new ChapAccount("alice", "alicesecret12"), null));
        LoginResponse response = connect().loginNormal(IQN, Map.of());
        assertEquals(0x0201, response.statusClass() << 8 | response.statusDetail());
        response.release();
    }

    @Test
    void mutualChapAuthenticatesBothSides() throws Exception {
        directory = new FixedDirectory().add(FixedDirectory.Target.open(IQN, scsi)
                .withChap(new ChapAccount("alice", "alicesecret12"), new ChapAccount("target", "targetsecret1")));
        Map<String, String> first = new LinkedHashMap<>();
        first.put("InitiatorName", TestInitiator.INITIATOR);
        first.put("SessionType", "Normal");
        first.put("TargetName", IQN);
        first.put("AuthMethod", "CHAP,None");
        LoginResponse r1 = connect().login(0, 1, false, first);
        assertEquals("CHAP", TestInitiator.parse(r1).get("AuthMethod"));
        r1.release();
        LoginResponse r2 = initiator.login(0, 1, false, Map.of("CHAP_A", "5"));
        Map<String, String> challenge = TestInitiator.parse(r2);
        r2.release();
        int id = Integer.parseInt(challenge.get("CHAP_I"));
        byte[] c = HexFormat.of().parseHex(challenge.get("CHAP_C").substring(2));
        byte[] ourChallenge = new byte[16];
        ourChallenge[0] = 42;
        Map<String, String> answer = new LinkedHashMap<>();
        answer.put("CHAP_N", "alice");
        answer.put("CHAP_R", "0x" + HexFormat.of().formatHex(md5(id, "alicesecret12", c)));
        answer.put("CHAP_I", "7");
        answer.put("CHAP_C", "0x" + HexFormat.of().formatHex(ourChallenge));
        LoginResponse r3 = initiator.login(0, 1, true, answer);
        assertEquals(0, r3.statusClass());
        assertTrue(r3.transit());
        Map<String, String> proof = TestInitiator.parse(r3);
        assertEquals("target", proof.get("CHAP_N"));
        assertEquals("0x" + HexFormat.of().formatHex(md5(7, "targetsecret1", ourChallenge)), proof.get("CHAP_R"));
        r3.release();
    }

    @Test
    void wrongChapSecretIsRefusedWithAuthenticationFailure() throws Exception {
        directory = new FixedDirectory().add(FixedDirectory.Target.open(IQN, scsi)
                .withChap(new ChapAccount("alice", "alicesecret12"), null));
        Map<String, String> first = new LinkedHashMap<>();
        first.put("InitiatorName", TestInitiator.INITIATOR);
        first.put("TargetName", IQN);
        first.put("AuthMethod", "CHAP");
        connect().login(0, 1, false, first).release();
        LoginResponse r2 = initiator.login(0, 1, false, Map.of("CHAP_A", "5"));
        Map<String, String> challenge = TestInitiator.parse(r2);
        r2.release();
        byte[] c = HexFormat.of().parseHex(challenge.get("CHAP_C").substring(2));
        LoginResponse r3 = initiator.login(0, 1, true, Map.of("CHAP_N", "alice",
                "CHAP_R", "0x" + HexFormat.of().formatHex(md5(Integer.parseInt(challenge.get("CHAP_I")), "wrong-secret!", c))));
        assertEquals(0x0201, r3.statusClass() << 8 | r3.statusDetail());
        r3.release();
        assertFalse(initiator.target.isOpen());
    }

    @Test
    void anInitiatorWaitingForEachAnswerHasItsLoopPollForTheNext() throws Exception {
        LoginResponse login = connect().loginNormal(IQN, Map.of());
        int nextStatSN = login.statSN() + 1;
        login.release();
        // a clock 1 ms later at each reading: a window of 20 polls, however slowly this thread runs
        AtomicLong now = new AtomicLong();
        BusyPolling polling = new BusyPolling(TimeUnit.MILLISECONDS.toNanos(20), () -> false,
                () -> now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1)));
        polling.calculateStrategy(() -> 0, true); // as Netty asks first, on the loop's thread: here this one
        AtomicInteger polls = new AtomicInteger();
        IntSupplier readyOnThirdPoll = () -> polls.incrementAndGet() >= 3 ? 1 : 0;

        // sent once the initiator had the login's answer: it waits for each answer
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 7, 0, initiator.cmdSN++, nextStatSN,
                TEST_UNIT_READY, null));
        ScsiResponse first = initiator.receive();
        assertEquals(nextStatSN, first.statSN());
        first.release();
        assertEquals(1, polling.calculateStrategy(readyOnThirdPoll, false), "polled for the next command");
        assertEquals(3, polls.get());

        // sent before the initiator had that answer (ExpStatSN behind): more than one on the way
        polls.set(0);
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 8, 0, initiator.cmdSN++, nextStatSN,
                TEST_UNIT_READY, null));
        ScsiResponse second = initiator.receive();
        assertEquals(nextStatSN + 1, second.statSN());
        second.release();
        assertEquals(SelectStrategy.SELECT, polling.calculateStrategy(readyOnThirdPoll, false), "slept at once");
        assertEquals(0, polls.get());
    }

    @Test
    void readIsSplitIntoDataInPdusWithStatusInTheLast() {
        loggedIn(Map.of("MaxRecvDataSegmentLength", "8192"));
        int length = 100_000;
        initiator.send(ScsiCommandRequest.of(false, true, true, false, 1, 0, 5, length, initiator.cmdSN++, 0, READ_10,
                null));
        int offset = 0;
        int dataSN = 0;
        while (true) {
            DataIn in = assertInstanceOf(DataIn.class, initiator.receive());
            assertEquals(dataSN++, in.dataSN());
            assertEquals(offset, in.bufferOffset());
            assertTrue(in.data().readableBytes() <= 8192);
            for (int i = 0; i < in.data().readableBytes(); i++) {
                assertEquals((byte) ((offset + i) * 7), in.data().getByte(i));
            }
            offset += in.data().readableBytes();
            boolean last = in.hasStatus();
            in.release();
            if (last) {
                break;
            }
        }
        assertEquals(length, offset);
    }

    @Test
    void writeGathersImmediateDataThenSolicitsTheRestWithR2T() {
        loggedIn(Map.of("InitialR2T", "Yes", "ImmediateData", "Yes", "FirstBurstLength", "4096",
                "MaxBurstLength", "65536", "MaxRecvDataSegmentLength", "65536"));
        int length = 8192;
        byte[] payload = new byte[length];
        for (int i = 0; i < length; i++) {
            payload[i] = (byte) (i * 13);
        }
        initiator.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 9, length, initiator.cmdSN++, 0,
                WRITE_10, Unpooled.wrappedBuffer(payload, 0, 4096)));
        ReadyToTransfer r2t = assertInstanceOf(ReadyToTransfer.class, initiator.receive());
        assertEquals(4096, r2t.bufferOffset());
        assertEquals(4096, r2t.desiredLength());
        assertEquals(0, r2t.r2tSN());
        r2t.release();
        initiator.send(DataOut.of(true, 0, 9, r2t.targetTransferTag(), 0, 0, 4096,
                Unpooled.wrappedBuffer(payload, 4096, 4096)));
        ScsiResponse response = assertInstanceOf(ScsiResponse.class, initiator.receive());
        assertEquals(ScsiResult.GOOD, response.status());
        assertFalse(response.underflow() || response.overflow());
        response.release();
        assertArrayEquals(payload, scsi.executed.get(0).data());
    }

    @Test
    void unsolicitedDataOutIsAcceptedUpToFirstBurstLength() {
        loggedIn(Map.of("InitialR2T", "No", "ImmediateData", "No", "FirstBurstLength", "8192",
                "MaxRecvDataSegmentLength", "65536"));
        byte[] payload = new byte[8192];
        payload[8191] = 9;
        initiator.send(ScsiCommandRequest.of(false, false, false, true, 1, 0, 9, payload.length, initiator.cmdSN++, 0,
                WRITE_10, null));
        initiator.send(DataOut.of(false, 0, 9, Bhs.RESERVED_TAG, 0, 0, 0, Unpooled.wrappedBuffer(payload, 0, 4096)));
        initiator.send(DataOut.of(true, 0, 9, Bhs.RESERVED_TAG, 0, 1, 4096, Unpooled.wrappedBuffer(payload, 4096, 4096)));
        ScsiResponse response = assertInstanceOf(ScsiResponse.class, initiator.receive());
        assertEquals(ScsiResult.GOOD, response.status());
        response.release();
        assertArrayEquals(payload, scsi.executed.get(0).data());
    }

    @Test
    void dataOutWithWrongDataSnFailsTheCommand() {
        loggedIn(Map.of("ImmediateData", "No", "MaxRecvDataSegmentLength", "65536"));
        initiator.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 9, 1024, initiator.cmdSN++, 0, WRITE_10,
                null));
        ReadyToTransfer r2t = initiator.receive();
        r2t.release();
        initiator.send(DataOut.of(true, 0, 9, r2t.targetTransferTag(), 0, 27, 0, Unpooled.wrappedBuffer(new byte[1024])));
        ScsiResponse response = assertInstanceOf(ScsiResponse.class, initiator.receive());
        assertEquals(ScsiResult.CHECK_CONDITION, response.status());
        response.release();
        assertTrue(scsi.executed.isEmpty(), "a command with a broken data phase never executes");
    }

    @Test
    void commandBeyondMaxCmdSnIsSilentlyIgnored() {
        loggedIn(Map.of());
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 3, 0, initiator.cmdSN + 1000, 0,
                new byte[16], null));
        assertNull(initiator.receive());
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 4, 0, initiator.cmdSN++, 0,
                new byte[16], null));
        ScsiResponse response = assertInstanceOf(ScsiResponse.class, initiator.receive());
        assertEquals(4, response.initiatorTaskTag());
        response.release();
    }

    @Test
    void commandsArrivingOutOfCmdSnOrderExecuteInOrder() {
        loggedIn(Map.of());
        int first = initiator.cmdSN;
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 0x21, 0, first + 1, 0, new byte[16], null));
        assertNull(initiator.receive(), "waits for the missing CmdSN");
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 0x20, 0, first, 0, new byte[16], null));
        ScsiResponse a = initiator.receive();
        ScsiResponse b = initiator.receive();
        assertEquals(0x20, a.initiatorTaskTag());
        assertEquals(0x21, b.initiatorTaskTag());
        assertEquals(a.statSN() + 1, b.statSN());
        a.release();
        b.release();
    }

    @Test
    void orderedTaskWaitsForOlderTasksAndHoldsBackYoungerOnes() {
        loggedIn(Map.of());
        scsi.hold = true;
        int simple = 1;
        int ordered = 2;
        initiator.send(ScsiCommandRequest.of(false, true, true, false, simple, 0, 0xa, 512, initiator.cmdSN++, 0,
                READ_10, null));
        initiator.send(ScsiCommandRequest.of(false, true, true, false, ordered, 0, 0xb, 512, initiator.cmdSN++, 0,
                READ_10, null));
        initiator.send(ScsiCommandRequest.of(false, true, true, false, simple, 0, 0xc, 512, initiator.cmdSN++, 0,
                READ_10, null));
        assertEquals(1, scsi.executed.size(), "only the oldest task runs");
        scsi.held.get(0).complete(FakeScsiTarget.resultFor(scsi.executed.get(0).command()));
        assertEquals(2, scsi.executed.size());
        assertEquals(0xb, scsi.executed.get(1).command().taskTag());
        scsi.held.get(1).complete(FakeScsiTarget.resultFor(scsi.executed.get(1).command()));
        assertEquals(3, scsi.executed.size());
        scsi.held.get(2).complete(FakeScsiTarget.resultFor(scsi.executed.get(2).command()));
        for (int itt : new int[] {0xa, 0xb, 0xc}) {
            DataIn in = initiator.receive();
            assertEquals(itt, in.initiatorTaskTag());
            in.release();
        }
    }

    /**
     * A session through a portal another node may take over (the floating portal): its commands
     * carry the token the node held it by; once this node no longer holds it, logins are refused.
     */
    @Test
    void aSessionThroughAFencedPortalCarriesItsTokenAndIsRefusedOnceThePortalMoved() {
        long[] token = {9};
        IscsiSettings floating = new IscsiSettings(new InetSocketAddress("127.0.0.1", 3260), 5, Duration.ZERO,
                Duration.ZERO, true, () -> token[0], Duration.ZERO);
        initiator = new TestInitiator(directory, new SessionRegistry(), floating);
        LoginResponse accepted = initiator.loginNormal(IQN, Map.of());
        assertEquals(0, accepted.statusClass());
        accepted.release();
        initiator.send(ScsiCommandRequest.of(false, true, true, false, 1, 0, 0x50, 512, initiator.cmdSN++, 0,
                READ_10, null));
        initiator.<IscsiPdu>receive().release();
        assertEquals(9, scsi.executed.get(0).command().nexus().fencingToken());
        initiator.close();

        token[0] = -1;
        initiator = new TestInitiator(directory, new SessionRegistry(), floating);
        LoginResponse refused = initiator.loginNormal(IQN, Map.of());
        assertEquals(0x03, refused.statusClass(), "target error");
        assertEquals(0x01, refused.statusDetail(), "service unavailable: the initiator tries again");
        refused.release();
    }

    /**
     * A change fenced off by a newer holder of the portal: the connection is stale, so it closes
     * without an answer, and the initiator resends the command on a new connection (to the holder).
     */
    @Test
    void aCommandWhoseChangeWasFencedOffClosesTheConnectionUnanswered() {
        loggedIn(Map.of("ImmediateData", "Yes", "FirstBurstLength", "8192", "MaxRecvDataSegmentLength", "65536"));
        scsi.hold = true;
        initiator.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 0x60, 8192, initiator.cmdSN++, 0, WRITE_10,
                Unpooled.wrappedBuffer(new byte[8192])));
        assertEquals(1, scsi.executed.size());
        assertTrue(initiator.target.isOpen());
        scsi.held.get(0).complete(ScsiResult.STALE_CONNECTION);
        initiator.target.runPendingTasks();
        assertNull(initiator.receive(), "no answer on the stale connection");
        assertFalse(initiator.target.isOpen(), "the connection closed");
    }

    @Test
    void nopOutPingIsEchoed() {
        loggedIn(Map.of());
        initiator.send(NopOut.of(true, 0x77, Bhs.RESERVED_TAG, initiator.cmdSN, 0,
                Unpooled.copiedBuffer("ping", StandardCharsets.US_ASCII)));
        NopIn nop = assertInstanceOf(NopIn.class, initiator.receive());
        assertEquals(0x77, nop.initiatorTaskTag());
        assertEquals("ping", nop.data().toString(StandardCharsets.US_ASCII));
        nop.release();
    }

    @Test
    void abortOfAnExecutingTaskAnswersOnceTheTaskCanNoLongerChangeTheMediumAndTheTaskNever() {
        loggedIn(Map.of());
        scsi.hold = true;
        initiator.send(ScsiCommandRequest.of(false, true, true, false, 1, 0, 0x40, 512, initiator.cmdSN++, 0, READ_10,
                null));
        initiator.send(TaskManagementRequest.of(true, TaskManagementRequest.ABORT_TASK, 0, 0x41, 0x40,
                initiator.cmdSN, 0, initiator.cmdSN - 1));
        assertNull(initiator.receive(), "no answer while the aborted task still executes (a write may still land)");
        scsi.held.get(0).complete(FakeScsiTarget.resultFor(scsi.executed.get(0).command()));
        TaskManagementResponse tmf = assertInstanceOf(TaskManagementResponse.class, initiator.receive());
        assertEquals(TaskManagementResponse.FUNCTION_COMPLETE, tmf.response());
        tmf.release();
        assertNull(initiator.receive(), "the aborted task sends no response");
    }

    @Test
    void abortOfATaskStillWaitingForItsDataAnswersAtOnce() {
        loggedIn(Map.of());
        initiator.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 0x40, 8192, initiator.cmdSN++, 0, WRITE_10,
                null));
        ReadyToTransfer r2t = assertInstanceOf(ReadyToTransfer.class, initiator.receive());
        r2t.release();
        initiator.send(TaskManagementRequest.of(true, TaskManagementRequest.ABORT_TASK, 0, 0x41, 0x40,
                initiator.cmdSN, 0, initiator.cmdSN - 1));
        TaskManagementResponse tmf = assertInstanceOf(TaskManagementResponse.class, initiator.receive());
        assertEquals(TaskManagementResponse.FUNCTION_COMPLETE, tmf.response());
        tmf.release();
        assertTrue(scsi.executed.isEmpty(), "the aborted write never reached the SCSI layer");
    }

    @Test
    void lunResetAbortsTasksAndResetsTheLogicalUnitOnceTheyEnded() {
        loggedIn(Map.of());
        scsi.hold = true;
        initiator.send(ScsiCommandRequest.of(false, true, true, false, 1, 0, 0x40, 512, initiator.cmdSN++, 0, READ_10,
                null));
        initiator.send(TaskManagementRequest.of(true, TaskManagementRequest.LOGICAL_UNIT_RESET, 0, 0x41, 0,
                initiator.cmdSN, 0, 0));
        assertNull(initiator.receive());
        assertTrue(!scsi.events.contains("LOGICAL_UNIT_RESET:0"), "the reset waits for the executing task");
        scsi.held.get(0).complete(FakeScsiTarget.resultFor(scsi.executed.get(0).command()));
        TaskManagementResponse tmf = initiator.receive();
        assertEquals(TaskManagementResponse.FUNCTION_COMPLETE, tmf.response());
        tmf.release();
        assertTrue(scsi.events.contains("LOGICAL_UNIT_RESET:0"));
        assertNull(initiator.receive());
    }

    @Test
    void logoutAnswersAndClosesTheConnection() {
        loggedIn(Map.of());
        initiator.send(LogoutRequest.of(true, LogoutRequest.CLOSE_SESSION, 0x50, 0, initiator.cmdSN, 0));
        LogoutResponse logout = assertInstanceOf(LogoutResponse.class, initiator.receive());
        assertEquals(LogoutResponse.CLOSED, logout.response());
        logout.release();
        initiator.target.runPendingTasks();
        assertFalse(initiator.target.isOpen());
        assertTrue(scsi.events.get(scsi.events.size() - 1).startsWith("closed:"));
    }

    @Test
    void discoverySessionListsTargetsWithEveryPortal() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("InitiatorName", TestInitiator.INITIATOR);
        keys.put("SessionType", "Discovery");
        keys.put("InitialR2T", "Yes");
        LoginResponse login = connect().login(1, 3, true, keys);
        assertEquals(0, login.statusClass());
        assertEquals("Irrelevant", TestInitiator.parse(login).get("InitialR2T"));
        login.release();
        initiator.send(TextRequest.of(true, true, false, 0x60, Bhs.RESERVED_TAG, initiator.cmdSN, 0,
                TestInitiator.keys(Map.of("SendTargets", "All"))));
        TextResponse text = assertInstanceOf(TextResponse.class, initiator.receive());
        Map<String, String> answer = TestInitiator.parse(text);
        assertEquals(IQN, answer.get("TargetName"));
        assertEquals("127.0.0.1:3260,1|127.0.0.2:3260,2", answer.get("TargetAddress"));
        text.release();
    }

    @Test
    void scsiCommandInDiscoverySessionIsRejected() {
        Map<String, String> keys = Map.of("InitiatorName", TestInitiator.INITIATOR, "SessionType", "Discovery");
        connect().login(1, 3, true, keys).release();
        initiator.send(ScsiCommandRequest.of(false, true, false, false, 1, 0, 3, 0, initiator.cmdSN++, 0, new byte[16],
                null));
        Reject reject = assertInstanceOf(Reject.class, initiator.receive());
        assertEquals(Reject.PROTOCOL_ERROR, reject.reason());
        reject.release();
        assertTrue(scsi.executed.isEmpty());
    }

    @Test
    void pduBeforeLoginClosesTheConnection() {
        connect().send(NopOut.of(true, 1, Bhs.RESERVED_TAG, 0, 0, null));
        assertFalse(initiator.target.isOpen());
    }

    @Test
    void loginWithTheIsidOfALiveSessionReinstatesIt() {
        SessionRegistry registry = new SessionRegistry();
        try (TestInitiator first = new TestInitiator(directory, registry);
             TestInitiator second = new TestInitiator(directory, registry)) {
            first.loginNormal(IQN, Map.of()).release();
            assertNull(second.loginNormal(IQN, Map.of()), "answered once the old connection closed");
            first.target.runPendingTasks();
            assertFalse(first.target.isOpen(), "the old session's connection is closed");
            LoginResponse response = assertInstanceOf(LoginResponse.class, second.receive());
            assertEquals(0, response.statusClass());
            response.release();
            assertTrue(second.target.isOpen());
            assertEquals(1, registry.size());
            String port = TestInitiator.INITIATOR + ",i,0x23d000000001";
            assertEquals(java.util.List.of("opened:" + port, "closed:" + port, "opened:" + port), scsi.events);
        }
    }

    /** Logs {@code initiator} in and sends a write that the SCSI layer holds, executing. */
    private void loggedInWithAWriteExecuting(TestInitiator initiator) {
        initiator.loginNormal(IQN, Map.of()).release();
        scsi.hold = true;
        initiator.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 0x50, 4096, initiator.cmdSN++, 0,
                WRITE_10, Unpooled.wrappedBuffer(new byte[4096])));
        assertEquals(1, scsi.held.size(), "the write executes");
    }

    @Test
    void aReinstatingLoginIsAnsweredOnlyOnceTheReplacedConnectionsCommandsEnded() {
        SessionRegistry registry = new SessionRegistry();
        try (TestInitiator first = new TestInitiator(directory, registry);
             TestInitiator second = new TestInitiator(directory, registry)) {
            loggedInWithAWriteExecuting(first);

            assertNull(second.loginNormal(IQN, Map.of()), "no answer while the old write may still land");
            first.target.runPendingTasks();
            assertFalse(first.target.isOpen(), "the old session's connection is closed");
            assertNull(second.receive(), "still no answer: the old write still executes");

            scsi.held.get(0).complete(FakeScsiTarget.resultFor(scsi.executed.get(0).command()));
            LoginResponse response = assertInstanceOf(LoginResponse.class, second.receive());
            assertEquals(0, response.statusClass());
            response.release();
            assertNull(first.receive(), "the old connection answers nothing");
        }
    }

    @Test
    void aLoginAfterAConnectionDroppedWithCommandsExecutingWaitsForThem() {
        SessionRegistry registry = new SessionRegistry();
        try (TestInitiator first = new TestInitiator(directory, registry);
             TestInitiator second = new TestInitiator(directory, registry)) {
            loggedInWithAWriteExecuting(first);
            first.target.close(); // the connection drops; its write still executes
            assertEquals(0, registry.size());

            assertNull(second.loginNormal(IQN, Map.of()), "no answer while the dropped connection's write may land");
            scsi.held.get(0).complete(FakeScsiTarget.resultFor(scsi.executed.get(0).command()));
            LoginResponse response = assertInstanceOf(LoginResponse.class, second.receive());
            assertEquals(0, response.statusClass());
            response.release();

            scsi.hold = false; // the new session works
            second.send(ScsiCommandRequest.of(false, true, false, true, 1, 0, 0x51, 4096, second.cmdSN++, 0,
                    WRITE_10, Unpooled.wrappedBuffer(new byte[4096])));
            ScsiResponse written = assertInstanceOf(ScsiResponse.class, second.receive());
            assertEquals(ScsiResult.GOOD, written.status());
            written.release();
        }
    }

    private static byte[] md5(int id, String secret, byte[] challenge) throws Exception {
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        md5.update((byte) id);
        md5.update(secret.getBytes(StandardCharsets.UTF_8));
        md5.update(challenge);
        return md5.digest();
    }

}

package io.raftlun.iscsi.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.raftlun.iscsi.IscsiSettings;
import io.raftlun.iscsi.TargetDirectory;
import io.raftlun.iscsi.login.TextKeys;
import io.raftlun.iscsi.pdu.IscsiPdu;
import io.raftlun.iscsi.pdu.LoginRequest;
import io.raftlun.iscsi.pdu.LoginResponse;
import io.raftlun.iscsi.pdu.PduDecoder;
import io.raftlun.iscsi.pdu.PduEncoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Drives one {@link IscsiConnection} in memory: PDUs go in through the real encoder and decoder,
 * answers come back decoded. No socket, no threads.
 */
final class TestInitiator implements AutoCloseable {

    static final String INITIATOR = "iqn.2026-11.io.raftlun:test-initiator";
    static final long ISID = 0x23d000000001L;

    final EmbeddedChannel target;
    private final EmbeddedChannel toWire = new EmbeddedChannel(new PduEncoder());
    private final EmbeddedChannel fromWire = new EmbeddedChannel(new PduDecoder(16 * 1024 * 1024));
    int cmdSN = 1;
    int itt = 0x100;

    TestInitiator(TargetDirectory directory) {
        this(directory, new SessionRegistry());
    }

    TestInitiator(TargetDirectory directory, SessionRegistry registry) {
        this(directory, registry, new IscsiSettings(new InetSocketAddress("127.0.0.1", 3260), 1, Duration.ZERO,
                Duration.ZERO));
    }

    TestInitiator(TargetDirectory directory, SessionRegistry registry, IscsiSettings settings) {
        PduDecoder decoder = new PduDecoder(1024 * 1024);
        PduEncoder encoder = new PduEncoder();
        target = new EmbeddedChannel(decoder, encoder,
                new IscsiConnection(directory, settings, registry, io.raftlun.iscsi.IscsiMetrics.none(), decoder, encoder));
    }

    /** Sends a PDU as bytes on the wire. */
    void send(IscsiPdu pdu) {
        toWire.writeOutbound(pdu);
        ByteBuf bytes;
        while ((bytes = toWire.readOutbound()) != null) {
            target.writeInbound(bytes);
        }
        target.runPendingTasks();
    }

    /** Sends raw bytes (for malformed input). */
    void sendBytes(byte[] bytes) {
        target.writeInbound(Unpooled.wrappedBuffer(bytes));
        target.runPendingTasks();
    }

    /** The next PDU the target sent, or null. The caller releases it. */
    @SuppressWarnings("unchecked")
    <T extends IscsiPdu> T receive() {
        target.runPendingTasks();
        ByteBuf bytes;
        while ((bytes = target.readOutbound()) != null) {
            fromWire.writeInbound(bytes);
        }
        return (T) fromWire.readInbound();
    }

    LoginResponse login(int csg, int nsg, boolean transit, Map<String, String> keys) {
        send(LoginRequest.of(transit, false, csg, nsg, ISID, 0, itt++, 0, cmdSN, 0, keys(keys)));
        return receive();
    }

    /** Logs in to {@code targetName} without authentication, straight to full feature phase. */
    LoginResponse loginNormal(String targetName, Map<String, String> extraKeys) {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("InitiatorName", INITIATOR);
        keys.put("SessionType", "Normal");
        keys.put("TargetName", targetName);
        keys.putAll(extraKeys);
        return login(1, 3, true, keys);
    }

    static ByteBuf keys(Map<String, String> keys) {
        TextKeys text = new TextKeys();
        keys.forEach(text::put);
        return Unpooled.wrappedBuffer(text.toBytes());
    }

    static Map<String, String> parse(IscsiPdu pdu) {
        Map<String, String> keys = new LinkedHashMap<>();
        for (String pair : pdu.data().toString(StandardCharsets.UTF_8).split("\0")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                keys.merge(pair.substring(0, eq), pair.substring(eq + 1), (a, b) -> a + "|" + b);
            }
        }
        return keys;
    }

    @Override
    public void close() {
        target.finishAndReleaseAll();
        toWire.finishAndReleaseAll();
        fromWire.finishAndReleaseAll();
    }
}

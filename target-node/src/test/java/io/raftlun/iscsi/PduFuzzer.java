package io.raftlun.iscsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.raftlun.iscsi.login.TextKeys;
import io.raftlun.iscsi.pdu.Bhs;
import io.raftlun.iscsi.pdu.DataOut;
import io.raftlun.iscsi.pdu.IscsiPdu;
import io.raftlun.iscsi.pdu.LoginRequest;
import io.raftlun.iscsi.pdu.LogoutRequest;
import io.raftlun.iscsi.pdu.NopOut;
import io.raftlun.iscsi.pdu.PduEncoder;
import io.raftlun.iscsi.pdu.ScsiCommandRequest;
import io.raftlun.iscsi.pdu.TaskManagementRequest;
import io.raftlun.iscsi.pdu.TextRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Random;

/**
 * Throws malformed and mutated PDUs at a portal over real TCP connections: random bytes, bit
 * flips in valid PDUs, impossible lengths, bad login keys, commands outside the CmdSN window,
 * random CDBs, stray Data-Outs, digest errors. Deterministic for a seed; bounded in count.
 */
final class PduFuzzer {

    private final InetSocketAddress portal;
    private final String targetName;
    private final Random random;
    long pdusSent;
    long connections;

    PduFuzzer(InetSocketAddress portal, String targetName, long seed) {
        this.portal = portal;
        this.targetName = targetName;
        this.random = new Random(seed);
    }

    /** One connection's worth of abuse: up to {@code pdus} PDUs, then the connection is dropped. */
    void oneConnection(int pdus) throws IOException {
        connections++;
        try (Socket socket = new Socket()) {
            socket.connect(portal, 2000);
            socket.setSoTimeout(2000);
            Thread drain = drainer(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            int style = random.nextInt(6);
            boolean digests = style == 5;
            if (style >= 3) {
                out.write(encode(login(digests)));
                pdusSent++;
                sleepQuietly(20); // let the login answer arrive so full-feature PDUs follow it
            }
            int cmdSN = 1;
            for (int i = 0; i < pdus; i++) {
                byte[] bytes = switch (style) {
                    case 0 -> randomBytes(random.nextInt(200));
                    case 1 -> mutate(encode(validPdu(cmdSN++)));
                    case 2 -> encode(badLogin());
                    default -> fullFeature(cmdSN++, digests);
                };
                try {
                    out.write(bytes);
                    pdusSent++;
                } catch (IOException closedByTarget) {
                    break; // the target hung up: that is an acceptable answer to garbage
                }
            }
            out.flush();
            drain.interrupt();
        }
    }

    private Thread drainer(InputStream in) {
        Thread thread = new Thread(() -> {
            byte[] sink = new byte[65536];
            try {
                while (in.read(sink) >= 0) {
                    // discard
                }
            } catch (IOException ignored) {
                // socket closed
            }
        }, "fuzz-drain");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    private IscsiPdu login(boolean digests) {
        TextKeys keys = new TextKeys().put("InitiatorName", "iqn.2026-11.io.raftlun:fuzzer")
                .put("SessionType", "Normal").put("TargetName", targetName)
                .put("HeaderDigest", digests ? "CRC32C" : "None").put("DataDigest", digests ? "CRC32C" : "None")
                .put("InitialR2T", "No").put("MaxRecvDataSegmentLength", "8192");
        return LoginRequest.of(true, false, 1, 3, 0x400000000000L | random.nextInt(1 << 20), 0, 0, 0, 1, 0,
                Unpooled.wrappedBuffer(keys.toBytes()));
    }

    private IscsiPdu badLogin() {
        String[][] bad = {
                {"MaxRecvDataSegmentLength", "-1"}, {"MaxBurstLength", "0x"}, {"HeaderDigest", "MD5"},
                {"InitialR2T", "Maybe"}, {"ErrorRecoveryLevel", "99999999999999999999"}, {"AuthMethod", "KRB5"},
                {"SessionType", "Weird"}, {"CHAP_A", "5"}, {"X" + "y".repeat(100), "1"}, {"MaxConnections", ""},
        };
        String[] pick = bad[random.nextInt(bad.length)];
        TextKeys keys = new TextKeys().put("InitiatorName", "iqn.2026-11.io.raftlun:fuzzer")
                .put("TargetName", random.nextBoolean() ? targetName : "iqn.2026-11.nope:x").put(pick[0], pick[1]);
        byte[] text = keys.toBytes();
        if (random.nextInt(4) == 0) {
            text[random.nextInt(text.length)] = 0; // break a pair in the middle
        }
        return LoginRequest.of(random.nextBoolean(), random.nextBoolean(), random.nextInt(4), random.nextInt(4),
                random.nextLong() & 0xffffffffffffL, random.nextInt(3), random.nextInt(), 0, random.nextInt(), 0,
                Unpooled.wrappedBuffer(text));
    }

    private IscsiPdu validPdu(int cmdSN) {
        return random.nextBoolean() ? login(false)
                : ScsiCommandRequest.of(false, true, true, false, 1, 0, cmdSN, 512, cmdSN, 0, randomCdb(), null);
    }

    private byte[] fullFeature(int cmdSN, boolean digests) {
        int sn = random.nextInt(8) == 0 ? cmdSN + 1000 + random.nextInt(1 << 20) : cmdSN;
        IscsiPdu pdu = switch (random.nextInt(9)) {
            case 0 -> ScsiCommandRequest.of(random.nextBoolean(), true, true, false, random.nextInt(5),
                    random.nextInt(4) == 0 ? random.nextLong() : 1L << 48, cmdSN, random.nextInt(1 << 20), sn, 0,
                    randomCdb(), null);
            case 1 -> ScsiCommandRequest.of(false, random.nextBoolean(), false, true, 1, 1L << 48, cmdSN,
                    random.nextInt(3) == 0 ? random.nextInt() : 4096, sn, 0, writeCdb(),
                    Unpooled.wrappedBuffer(randomBytes(random.nextInt(4) * 512)));
            case 2 -> DataOut.of(random.nextBoolean(), 1L << 48, random.nextInt(cmdSN + 1), random.nextInt(4) == 0
                    ? Bhs.RESERVED_TAG : random.nextInt(8), 0, random.nextInt(3), random.nextInt(8192),
                    Unpooled.wrappedBuffer(randomBytes(512)));
            case 3 -> NopOut.of(random.nextBoolean(), random.nextBoolean() ? Bhs.RESERVED_TAG : cmdSN,
                    random.nextInt(3), sn, 0, Unpooled.wrappedBuffer(randomBytes(random.nextInt(64))));
            case 4 -> TaskManagementRequest.of(true, random.nextInt(16), random.nextLong(), cmdSN, random.nextInt(cmdSN),
                    sn, 0, random.nextInt());
            case 5 -> TextRequest.of(random.nextBoolean(), true, random.nextBoolean(), cmdSN,
                    random.nextBoolean() ? Bhs.RESERVED_TAG : random.nextInt(), sn, 0,
                    Unpooled.wrappedBuffer(new TextKeys().put("SendTargets", random.nextBoolean() ? "All" : "")
                            .put("Garbage", "x").toBytes()));
            case 6 -> LogoutRequest.of(true, random.nextInt(4), cmdSN, random.nextInt(3), sn, 0);
            case 7 -> login(false);
            default -> ScsiCommandRequest.of(false, true, random.nextBoolean(), random.nextBoolean(), 1, 1L << 48,
                    cmdSN, random.nextInt(65536), sn, 0, randomCdb(), null);
        };
        byte[] bytes = encode(pdu, digests);
        if (random.nextInt(6) == 0) {
            bytes = mutate(bytes); // a flipped bit under digests becomes a digest error
        }
        return bytes;
    }

    private byte[] randomCdb() {
        byte[] cdb = randomBytes(16);
        int[] common = {0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x1b, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42,
                0x55, 0x5a, 0x5e, 0x5f, 0x88, 0x89, 0x8a, 0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa3};
        cdb[0] = (byte) (random.nextInt(3) == 0 ? random.nextInt(256) : common[random.nextInt(common.length)]);
        return cdb;
    }

    private byte[] writeCdb() {
        byte[] cdb = new byte[16];
        cdb[0] = 0x2a;
        cdb[5] = (byte) random.nextInt(64);
        cdb[8] = 8;
        return cdb;
    }

    private byte[] mutate(byte[] bytes) {
        int flips = 1 + random.nextInt(8);
        for (int i = 0; i < flips && bytes.length > 0; i++) {
            bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
        }
        if (random.nextInt(10) == 0 && bytes.length > 8) {
            bytes[5] = (byte) 0xff; // DataSegmentLength far beyond every limit
        }
        return bytes;
    }

    private byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] encode(IscsiPdu pdu) {
        return encode(pdu, false);
    }

    private static byte[] encode(IscsiPdu pdu, boolean digests) {
        PduEncoder encoder = new PduEncoder();
        encoder.enableDigests(digests, digests);
        EmbeddedChannel channel = new EmbeddedChannel(encoder);
        channel.writeOutbound(pdu);
        ByteBuf all = Unpooled.buffer();
        ByteBuf part;
        while ((part = channel.readOutbound()) != null) {
            all.writeBytes(part);
            part.release();
        }
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        channel.finishAndReleaseAll();
        return bytes;
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}

package io.raftlun.iscsi.pdu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PduCodecTest {

    /** A TEST UNIT READY as libiscsi sends it: SCSI Command, F bit, LUN 0, ITT 1, CmdSN 2, ExpStatSN 3. */
    private static final String TEST_UNIT_READY = "01800000" + "00000000" + "0000000000000000" + "00000001"
            + "00000000" + "00000002" + "00000003" + "00000000000000000000000000000000";

    @Test
    void decodesScsiCommandFromWireBytes() {
        EmbeddedChannel channel = new EmbeddedChannel(new PduDecoder(8192));
        channel.writeInbound(Unpooled.wrappedBuffer(HexFormat.of().parseHex(TEST_UNIT_READY)));
        ScsiCommandRequest command = assertInstanceOf(ScsiCommandRequest.class, channel.readInbound());
        assertEquals(1, command.initiatorTaskTag());
        assertEquals(2, command.cmdSN());
        assertEquals(3, command.expStatSN());
        assertTrue(command.finalBit());
        assertFalse(command.immediate());
        assertEquals(0, command.cdb()[0]);
        assertEquals(16, command.cdb().length);
        command.release();
        assertFalse(channel.finish());
    }

    @Test
    void waitsForTheWholePduAcrossReads() {
        EmbeddedChannel channel = new EmbeddedChannel(new PduDecoder(8192));
        ByteBuf pdu = encodeRequest(null, textRequest("SendTargets=All"));
        channel.writeInbound(pdu.readRetainedSlice(30));
        assertNull(channel.readInbound());
        channel.writeInbound(pdu.readRetainedSlice(pdu.readableBytes()));
        pdu.release();
        TextRequest text = assertInstanceOf(TextRequest.class, channel.readInbound());
        assertEquals("SendTargets=All\0", text.data().toString(StandardCharsets.UTF_8));
        text.release();
        channel.finishAndReleaseAll();
    }

    @Test
    void pdusSplitAnywhereAcrossReadsDecodeWithTheirData() {
        ByteBuf first = encodeRequest(null, textRequest("SendTargets=All"));
        ByteBuf second = encodeRequest(null, textRequest("HeaderDigest=None"));
        ByteBuf wire = Unpooled.wrappedBuffer(first, second);
        EmbeddedChannel channel = new EmbeddedChannel(new PduDecoder(8192));
        for (int cut : new int[] {5, 50, 17, 1}) { // inside a header, inside data, across the two PDUs
            channel.writeInbound(wire.readRetainedSlice(cut));
        }
        channel.writeInbound(wire.readRetainedSlice(wire.readableBytes()));
        wire.release();
        for (String expected : new String[] {"SendTargets=All\0", "HeaderDigest=None\0"}) {
            TextRequest text = assertInstanceOf(TextRequest.class, channel.readInbound());
            assertEquals(expected, text.data().toString(StandardCharsets.UTF_8));
            text.release();
        }
        assertNull(channel.readInbound());
        channel.finishAndReleaseAll();
    }

    @Test
    void roundTripsDataWithPaddingAndBothDigests() {
        PduEncoder encoder = new PduEncoder();
        encoder.enableDigests(true, true);
        PduDecoder decoder = new PduDecoder(8192);
        decoder.enableDigests(true, true);
        ByteBuf wire = encodeRequest(encoder, textRequest("SendTargets=All"));
        // 48 BHS + 4 header digest + 16 data + 0 padding + 4 data digest; 17 bytes would pad to 20.
        assertEquals(48 + 4 + 16 + 4, wire.readableBytes());
        EmbeddedChannel in = new EmbeddedChannel(decoder);
        in.writeInbound(wire);
        TextRequest text = assertInstanceOf(TextRequest.class, in.readInbound());
        assertEquals("SendTargets=All\0", text.data().toString(StandardCharsets.UTF_8));
        text.release();
        in.finishAndReleaseAll();
    }

    @Test
    void headerDigestMismatchLosesFramingAndClosesTheStream() {
        PduEncoder encoder = new PduEncoder();
        encoder.enableDigests(true, false);
        ByteBuf wire = encodeRequest(encoder, textRequest("SendTargets=All"));
        wire.setByte(49, wire.getByte(49) ^ 0xff); // corrupt the header digest
        PduDecoder decoder = new PduDecoder(8192);
        decoder.enableDigests(true, false);
        EmbeddedChannel in = new EmbeddedChannel(decoder);
        in.writeInbound(wire);
        MalformedPdu malformed = assertInstanceOf(MalformedPdu.class, in.readInbound());
        assertTrue(malformed.framingLost());
        in.finishAndReleaseAll();
    }

    @Test
    void dataDigestMismatchIsRejectedButFramingSurvives() {
        PduEncoder encoder = new PduEncoder();
        encoder.enableDigests(false, true);
        ByteBuf wire = encodeRequest(encoder, textRequest("SendTargets=All"), textRequest("SendTargets=All"));
        wire.setByte(50, 'X'); // corrupt the first payload
        PduDecoder decoder = new PduDecoder(8192);
        decoder.enableDigests(false, true);
        EmbeddedChannel in = new EmbeddedChannel(decoder);
        in.writeInbound(wire);
        MalformedPdu malformed = assertInstanceOf(MalformedPdu.class, in.readInbound());
        assertEquals(Reject.DATA_DIGEST_ERROR, malformed.reason());
        assertFalse(malformed.framingLost());
        TextRequest next = assertInstanceOf(TextRequest.class, in.readInbound());
        next.release();
        in.finishAndReleaseAll();
    }

    @Test
    void oversizedDataSegmentIsRefusedBeforeAnyAllocation() {
        byte[] bhs = HexFormat.of().parseHex(TEST_UNIT_READY);
        bhs[5] = (byte) 0xff; // DataSegmentLength 16 MiB - 1
        bhs[6] = (byte) 0xff;
        bhs[7] = (byte) 0xff;
        EmbeddedChannel in = new EmbeddedChannel(new PduDecoder(8192));
        in.writeInbound(Unpooled.wrappedBuffer(bhs));
        MalformedPdu malformed = assertInstanceOf(MalformedPdu.class, in.readInbound());
        assertTrue(malformed.framingLost());
        in.finishAndReleaseAll();
    }

    @Test
    void undefinedOpcodeBecomesCommandNotSupported() {
        byte[] bhs = HexFormat.of().parseHex(TEST_UNIT_READY);
        bhs[0] = 0x1c;
        EmbeddedChannel in = new EmbeddedChannel(new PduDecoder(8192));
        in.writeInbound(Unpooled.wrappedBuffer(bhs));
        MalformedPdu malformed = assertInstanceOf(MalformedPdu.class, in.readInbound());
        assertEquals(Reject.COMMAND_NOT_SUPPORTED, malformed.reason());
        assertArrayEquals(bhs, malformed.header());
        in.finishAndReleaseAll();
    }

    @Test
    void extendedCdbComesFromTheAdditionalHeaderSegment() {
        byte[] bhs = HexFormat.of().parseHex(TEST_UNIT_READY);
        bhs[4] = 5; // TotalAHSLength: 5 words = one AHS of length 17 (type + 16 CDB bytes) + padding
        byte[] ahs = new byte[20];
        ahs[1] = 17;
        ahs[2] = 1; // extended CDB
        ahs[4] = 0x7f;
        EmbeddedChannel in = new EmbeddedChannel(new PduDecoder(8192));
        in.writeInbound(Unpooled.wrappedBuffer(bhs, ahs));
        ScsiCommandRequest command = assertInstanceOf(ScsiCommandRequest.class, in.readInbound());
        assertEquals(32, command.cdb().length);
        assertEquals(0x7f, command.cdb()[16]);
        command.release();
        in.finishAndReleaseAll();
    }

    @Test
    void encodesDataInWithStatusAndResidual() {
        EmbeddedChannel out = new EmbeddedChannel(new PduEncoder());
        out.writeOutbound(DataIn.withStatus(7, 0, new StatusSequence(10, 11, 20), 0, 0, 512,
                Unpooled.wrappedBuffer(new byte[3])));
        ByteBuf wire = collect(out);
        assertEquals(0x25, wire.getByte(0));
        assertEquals((byte) 0x83, wire.getByte(1)); // F, U, S
        assertEquals(3, wire.getMedium(5));
        assertEquals(10, wire.getInt(24));
        assertEquals(512, wire.getInt(44));
        assertEquals(48 + 4, wire.readableBytes()); // 3 bytes of data padded to 4
        wire.release();
    }

    static TextRequest textRequest(String keys) {
        return TextRequest.of(true, true, false, 1, Bhs.RESERVED_TAG, 1, 0,
                Unpooled.copiedBuffer(keys + "\0", StandardCharsets.UTF_8));
    }

    static ByteBuf encodeRequest(PduEncoder encoder, IscsiPdu... pdus) {
        EmbeddedChannel out = new EmbeddedChannel(encoder == null ? new PduEncoder() : encoder);
        out.writeOutbound((Object[]) pdus);
        return collect(out);
    }

    static ByteBuf collect(EmbeddedChannel out) {
        ByteBuf all = Unpooled.buffer();
        ByteBuf part;
        while ((part = out.readOutbound()) != null) {
            all.writeBytes(part);
            part.release();
        }
        return all;
    }
}

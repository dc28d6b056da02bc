package io.raftlun.replication;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.raftlun.blockstore.NodeStorage;
import io.raftlun.consensus.RaftGroups;
import io.raftlun.consensus.RaftMember;
import io.raftlun.consensus.RaftNode;
import io.raftlun.consensus.RaftSettings;
import io.raftlun.volume.Extent;
import io.raftlun.volume.LbaStatus;
import io.raftlun.volume.VolumeException;
import io.raftlun.volume.reservation.ReservationCommand;
import io.raftlun.volume.reservation.ReservationOutcome;
import io.raftlun.volume.reservation.Reservations;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.SnapshotManagementRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three replicas of one volume in this JVM, on loopback ports, driven through {@link ReplicatedVolume}. */
class ReplicatedVolumeTest {

    static final int BLOCK = 512;
    static final long BLOCKS = 512 * 1024; // 256 MiB, thin
    static final String VOLUME = "vol-test";

    @TempDir
    Path dir;

    final ExecutorService io = Executors.newFixedThreadPool(4);
    final List<RaftMember> members = new ArrayList<>();
    final Replica[] replicas = new Replica[3];
    RaftGroup group;

    /** One node: its storage, its Raft server and its view of the volume. */
    final class Replica implements AutoCloseable {
        final int number;
        final NodeStorage storage;
        final RaftNode raft;
        final VolumeStateMachine machine;
        final ReplicatedVolume volume;

        Replica(int number) throws IOException {
            this.number = number;
            storage = NodeStorage.open(dir.resolve("node" + number));
            if (storage.volume(VOLUME) == null) {
                storage.create(VOLUME, BLOCKS, BLOCK, null);
            }
            RaftNode[] self = new RaftNode[1];
            machine = new VolumeStateMachine(storage.store(VOLUME),
                    (gid, query) -> self[0].readRemote(group, query), io);
            RaftSettings settings = new RaftSettings(members.get(number), dir.resolve("node" + number + "/raft"),
                    Duration.ofMillis(500), Map.of(
                            "raft.server.log.segment.size.max", "1MB",
                            "raft.server.log.purge.gap", "1",
                            "raft.server.snapshot.auto.trigger.enabled", "false"));
            raft = RaftNode.start(settings, gid -> machine, group);
            self[0] = raft;
            volume = new ReplicatedVolume(VOLUME, BLOCK, () -> BLOCKS, raft, () -> group, machine, io);
        }

        @Override
        public void close() {
            raft.close();
            storage.close();
        }
    }

    void startAll() throws IOException {
        for (int i = 0; i < 3; i++) {
            members.add(new RaftMember("n" + (i + 1), new InetSocketAddress("127.0.0.1", freePort())));
        }
        group = RaftGroups.group(RaftGroups.volume(VOLUME), members);
        for (int i = 0; i < 3; i++) {
            replicas[i] = new Replica(i);
        }
    }

    @AfterEach
    void stopAll() {
        for (Replica replica : replicas) {
            if (replica != null) {
                replica.close();
            }
        }
        io.shutdownNow();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    static ByteBuf pattern(int blocks, int seed) {
        byte[] bytes = new byte[blocks * BLOCK];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (seed * 7 + i * 31 + (i >> 9));
        }
        return Unpooled.wrappedBuffer(bytes);
    }

    static byte[] bytes(ByteBuf buf) {
        try {
            byte[] out = new byte[buf.readableBytes()];
            buf.getBytes(buf.readerIndex(), out);
            return out;
        } finally {
            buf.release();
        }
    }

    Replica leader() throws InterruptedException {
        RaftGroupId id = group.getGroupId();
        for (int attempt = 0; attempt < 200; attempt++) {
            for (Replica replica : replicas) {
                if (replica != null && replica.raft.isLeader(id)) {
                    return replica;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no leader elected");
    }

    @Test
    void aWriteThroughAnyNodeReadsBackThroughEveryNode() throws Exception {
        startAll();
        java.util.concurrent.atomic.LongAdder commits = new java.util.concurrent.atomic.LongAdder();
        for (Replica replica : replicas) {
            replica.machine.onCommitLatency(nanos -> commits.increment());
        }
        for (int i = 0; i < 3; i++) {
            replicas[i].volume.write(1000L * i, pattern(16, i), false).join();
        }
        for (Replica reader : replicas) {
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(bytes(pattern(16, i)), bytes(reader.volume.read(1000L * i, 16).join()),
                        "node " + reader.number + " reads what was written through node " + i);
            }
        }
        assertTrue(commits.sum() >= 3, "the leader times the commit of each write it submitted: " + commits.sum());
        assertEquals(-1L, replicas[1].volume.compareAndWrite(0, pattern(1, 0), pattern(1, 9), false).join());
        assertEquals(0L, replicas[2].volume.compareAndWrite(0, pattern(1, 0), pattern(1, 8), false).join(),
                "the compare happens in log order: the first compare-and-write changed the block");
        replicas[0].volume.unmap(List.of(new Extent(1000, 16))).join();
        LbaStatus unmapped = replicas[2].volume.lbaStatus(1000, 1).join().get(0);
        assertEquals(1000, unmapped.lba());
        assertTrue(!unmapped.mapped() && unmapped.blocks() >= 16, "unmapped through another node: " + unmapped);
        assertArrayEquals(new byte[16 * BLOCK], bytes(replicas[1].volume.read(1000, 16).join()));
    }

    /**
     * A read through the leader passes its barrier within the leader's lease, so it needs no other
     * thread: it completes on the caller's (an iSCSI event loop), sparing two thread wake-ups. Some
     * reads may still go through another thread (the first, one made while the lease lapsed). Had
     * each read gone to a pool, the caller would find it complete on return only when that pool's
     * thread ran first (0–7 of 20 here).
     */
    @Test
    void aReadThroughTheLeaderCompletesOnTheCallersThread() throws Exception {
        startAll();
        Replica leader = leader();
        leader.volume.write(0, pattern(8, 3), false).join();
        int onCaller = 0;
        for (int i = 0; i < 20; i++) {
            CompletableFuture<ByteBuf> read = leader.volume.read(0, 8);
            if (read.isDone()) {
                onCaller++;
            }
            assertArrayEquals(bytes(pattern(8, 3)), bytes(read.join()));
        }
        assertTrue(onCaller >= 16, onCaller + " of 20 reads through the leader completed on the caller's thread");
    }

    /**
     * A read right after a write through a follower waits only for the follower to apply that
     * write. Ratis's own follower read waited for the leader's next heartbeat (250 ms with this
     * election timeout) about one time in ten: 150 such reads met it 14 and 10 times in two runs.
     */
    @Test
    void aReadRightAfterAWriteThroughAFollowerWaitsForNoHeartbeat() throws Exception {
        startAll();
        Replica follower = replicas[(leader().number + 1) % 3];
        follower.volume.write(0, pattern(8, 0), false).join();
        List<Long> slowMillis = new ArrayList<>();
        for (int i = 1; i <= 150; i++) {
            follower.volume.write(0, pattern(8, i), false).join();
            long start = System.nanoTime();
            assertArrayEquals(bytes(pattern(8, i)), bytes(follower.volume.read(0, 8).join()),
                    "read " + i + " through node " + follower.number + " sees the write before it");
            long millis = (System.nanoTime() - start) / 1_000_000;
            if (millis >= 150) {
                slowMillis.add(millis);
            }
        }
        // up to 3 slow ones for a loaded machine's pauses; the heartbeat wait made 10 to 14
        assertTrue(slowMillis.size() <= 3, "reads right after a write that took 150 ms or more: " + slowMillis);
    }

    @Test
    void growingThroughOneNodeGrowsEveryReplicaAtOneLogIndexAndSurvivesARestart() throws Exception {
        startAll();
        replicas[1].volume.write(BLOCKS - 16, pattern(16, 4), false).join();
        replicas[2].volume.grow(2 * BLOCKS).join();
        for (Replica replica : replicas) {
            assertEquals(2 * BLOCKS, replica.storage.store(VOLUME).blockCount(), "node " + replica.number + " grew");
        }
        // the nodes' views once the config says so: a write past the old end, read back through every node
        List<ReplicatedVolume> grown = new ArrayList<>();
        for (Replica replica : replicas) {
            grown.add(new ReplicatedVolume(VOLUME, BLOCK, () -> 2 * BLOCKS, replica.raft, () -> group, replica.machine,
                    io));
        }
        grown.get(0).write(BLOCKS + 100, pattern(16, 5), false).join();
        for (ReplicatedVolume volume : grown) {
            assertArrayEquals(bytes(pattern(16, 5)), bytes(volume.read(BLOCKS + 100, 16).join()));
            assertArrayEquals(bytes(pattern(16, 4)), bytes(volume.read(BLOCKS - 16, 16).join()));
        }
        replicas[0].close(); // replays the log, GROW included, on start: harmless
        replicas[0] = new Replica(0);
        assertEquals(2 * BLOCKS, replicas[0].storage.store(VOLUME).blockCount());
        ReplicatedVolume restarted = new ReplicatedVolume(VOLUME, BLOCK, () -> 2 * BLOCKS, replicas[0].raft,
                () -> group, replicas[0].machine, io);
        assertArrayEquals(bytes(pattern(16, 5)), bytes(restarted.read(BLOCKS + 100, 16).join()));
    }

    /**
     * A leadership hand-over (drain, the floating portal's holder taking its volumes) while writes
     * flow through every node: the stepping-down leader refuses new entries, and the writes go to
     * the new leader instead of failing (an initiator would see NOT READY and a filesystem EIO).
     */
    @Test
    void writesThroughEveryNodeSucceedAcrossLeadershipHandOvers() throws Exception {
        startAll();
        for (int round = 0; round < 3; round++) {
            List<java.util.concurrent.CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                writes.add(replicas[i % 3].volume.write(16L * i, pattern(16, i + round), false));
            }
            List<RaftNode.HandOver> handedOver = leader().raft.handOverLeadership(Duration.ofSeconds(5));
            assertTrue(handedOver.stream().anyMatch(h -> h.newLeader() != null), "leadership moved: " + handedOver);
            // every write of the round succeeds (join throws otherwise) before the next overwrites it
            java.util.concurrent.CompletableFuture.allOf(writes.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .join();
        }
        for (int i = 0; i < 60; i++) {
            assertArrayEquals(bytes(pattern(16, i + 2)), bytes(replicas[(i + 1) % 3].volume.read(16L * i, 16).join()));
        }
    }

    @Test
    void aResetThroughOneNodeReachesTheOthersBeforeItCompletes() throws Exception {
        startAll();
        java.util.concurrent.atomic.AtomicInteger[] told = new java.util.concurrent.atomic.AtomicInteger[3];
        for (int i = 0; i < 3; i++) {
            told[i] = new java.util.concurrent.atomic.AtomicInteger();
            replicas[i].volume.onResetElsewhere(told[i]::incrementAndGet);
        }
        replicas[1].volume.reset().join();
        assertEquals(1, told[0].get(), "node 1 knew before the reset completed");
        assertEquals(0, told[1].get(), "the announcing node raised its unit attentions itself");
        assertEquals(1, told[2].get(), "node 3 knew before the reset completed");
    }

    @Test
    void reserve6ThroughOneNodeHoldsOnEveryNodeAcrossARestartUntilAResetThroughAnother() throws Exception {
        startAll();
        String holder = "iqn.2026-11.test:host,i,0x000000000001|iqn.2026-11.test:lun,t,0x0001";
        String other = "iqn.2026-11.test:host,i,0x000000000001|iqn.2026-11.test:lun,t,0x0002";
        assertEquals(ReservationOutcome.Result.GOOD, replicas[0].volume.reserve(
                ReservationCommand.reserve6(holder, "iqn.2026-11.test:host,i,0x000000000001", 1)).join().result());
        for (Replica replica : replicas) {
            assertTrue(replica.volume.reservations().reserve6HeldByAnother(other),
                    "node " + replica.number + " applied the reservation before it completed");
        }

        replicas[1].raft.server().snapshotManagement(SnapshotManagementRequest.newCreate(ClientId.randomId(),
                members.get(1).peerId(), group.getGroupId(), 0, 30_000, 1));
        replicas[1].close();
        replicas[1] = new Replica(1);
        replicas[1].volume.read(0, 1).join().release(); // serving again
        assertEquals(holder, replicas[1].volume.reservations().view().reserve6Holder(),
                "the restarted replica has the holder back");

        replicas[2].volume.reset().join();
        for (Replica replica : replicas) {
            assertNull(replica.volume.reservations().view().reserve6Holder(),
                    "node " + replica.number + " released it before the reset completed");
        }
    }

    /** SPC-4 5.12.11.4: a preempted registrant hears of it, though its session is on another node. */
    @Test
    void theUnitAttentionsOfAPreemptThroughOneNodeReachEveryNodeBeforeItCompletes() throws Exception {
        startAll();
        String host = "iqn.2026-11.test:host,i,0x000000000001";
        String victim = host + "|iqn.2026-11.test:lun,t,0x0001";
        String preemptor = host + "|iqn.2026-11.test:lun,t,0x0003";
        List<List<ReservationOutcome.UnitAttention>> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (Replica replica : replicas) {
            replica.volume.onUnitAttentions(heard::add);
        }
        replicas[0].volume.reserve(new ReservationCommand(ReservationCommand.Action.REGISTER, victim, host, 1, 0,
                0x11, 0, 0, false, false)).join();
        replicas[2].volume.reserve(new ReservationCommand(ReservationCommand.Action.REGISTER, preemptor, host, 3, 0,
                0x33, 0, 0, false, false)).join();
        replicas[2].volume.reserve(new ReservationCommand(ReservationCommand.Action.PREEMPT, preemptor, host, 3, 0x33,
                0x11, Reservations.EXCLUSIVE_ACCESS, 0, false, false)).join();
        assertEquals(3, heard.size(), "every node heard of it: " + heard);
        for (List<ReservationOutcome.UnitAttention> attentions : heard) {
            assertEquals(List.of(new ReservationOutcome.UnitAttention(victim, 0x2a05)), attentions,
                    "REGISTRATIONS PREEMPTED for the victim");
        }
    }

    @Test
    void aCorruptBlockIsRepairedFromAHealthyReplicaNeverReturned() throws Exception {
        startAll();
        replicas[0].volume.write(100, pattern(16, 5), false).join();
        for (Replica replica : replicas) {
            assertArrayEquals(bytes(pattern(16, 5)), bytes(replica.volume.read(100, 16).join()));
        }
        // bit rot under replica 1's block store: two blocks' bytes change behind the block map's back
        corrupt(replicas[1], 103, 110);
        assertArrayEquals(bytes(pattern(16, 5)), bytes(replicas[1].volume.read(100, 16).join()),
                "the read through the corrupt replica returns the written data");
        assertEquals(2, replicas[1].storage.counters(VOLUME).repairedBlocks());
        assertArrayEquals(bytes(pattern(16, 5)), bytes(replicas[1].storage.store(VOLUME).read(100, 16)),
                "the replica's own copy is healthy again");
    }

    /** Changes bytes of each block behind the replica's block map (bit rot). */
    static void corrupt(Replica replica, long... blocks) throws IOException {
        var record = replica.storage.volume(VOLUME);
        try (java.nio.channels.FileChannel data = java.nio.channels.FileChannel.open(Path.of(record.dataPath()),
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            for (long block : blocks) {
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4);
                long at = record.dataOffset() + block * BLOCK + 7;
                data.read(bytes, at);
                for (int i = 0; i < 4; i++) {
                    bytes.put(i, (byte) ~bytes.get(i));
                }
                data.write(bytes.flip(), at);
            }
        }
    }

    static Map<String, Object> finish(VolumeCheck check) throws InterruptedException {
        for (int i = 0; i < 600 && check.running(); i++) {
            Thread.sleep(50);
        }
        Map<String, Object> report = check.report();
        assertEquals("done", report.get("state"), "the check finished: " + report);
        return report;
    }

    @Test
    void scrubRepairsCorruptBlocksOfOneReplicaThroughTheLogAndVerifyFindsTheMapsAgree() throws Exception {
        startAll();
        replicas[0].volume.write(100, pattern(16, 5), false).join();
        replicas[0].volume.write(5000, pattern(16, 6), false).join();
        for (Replica replica : replicas) {
            replica.volume.read(0, 1).join().release(); // a read barrier there: it applied both writes
        }
        corrupt(replicas[2], 103, 5010);

        Map<String, Object> scrub = finish(VolumeCheck.start(VolumeCheck.Kind.SCRUB, VOLUME, BLOCK, BLOCKS,
                VolumeCheck.raftGroup(replicas[0].raft, () -> group), 1L << 30));
        assertEquals(2, scrub.get("corruptBlocks"), scrub.toString());
        assertEquals(2L, scrub.get("repairedBlocks"), scrub.toString());
        List<?> corrupt = (List<?>) scrub.get("corrupt");
        assertEquals(List.of(103L, 5010L), corrupt.stream().map(f -> ((Map<?, ?>) f).get("block")).toList());
        assertTrue(corrupt.stream().allMatch(f -> "n3".equals(((Map<?, ?>) f).get("replica"))), scrub.toString());
        assertEquals(96L, scrub.get("blocksChecked"), "3 replicas x 32 blocks checked: " + scrub);
        assertArrayEquals(bytes(pattern(16, 5)), bytes(replicas[2].storage.store(VOLUME).read(100, 16)),
                "replica 3's own copy is healthy again");
        assertArrayEquals(bytes(pattern(16, 6)), bytes(replicas[2].storage.store(VOLUME).read(5000, 16)));
        assertEquals(2, replicas[2].storage.counters(VOLUME).scrubFound());
        assertEquals(2, replicas[2].storage.counters(VOLUME).scrubRepaired());
        assertEquals(0, replicas[0].storage.counters(VOLUME).scrubRepaired(), "healthy replicas change nothing");

        // verify while writes go on in the chunks it compares: the replicas' maps agree at every log index
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.Future<Integer> writer = io.submit(() -> {
            int writes = 0;
            for (; writing.get() && writes < 10_000; writes++) {
                replicas[writes % 3].volume.write(writes % 1024, pattern(1, writes), false).join();
            }
            return writes;
        });
        Map<String, Object> verify;
        try {
            Thread.sleep(200);
            verify = finish(VolumeCheck.start(VolumeCheck.Kind.VERIFY, VOLUME, BLOCK, BLOCKS, VolumeCheck.raftGroup(
                    replicas[1].raft, () -> group), 1L << 30));
        } finally {
            writing.set(false);
        }
        assertTrue(writer.get() > 0);
        assertEquals(0, verify.get("differingChunks"), verify.toString());
        assertEquals(List.of(), verify.get("unreachable"));

        // one replica's map diverges (a write no log carried): verify names its chunk
        replicas[1].storage.store(VOLUME).write(1_000_000, 7000, pattern(1, 9));
        verify = finish(VolumeCheck.start(VolumeCheck.Kind.VERIFY, VOLUME, BLOCK, BLOCKS, VolumeCheck.raftGroup(
                replicas[0].raft, () -> group), 1L << 30));
        assertEquals(1, verify.get("differingChunks"), verify.toString());
        assertEquals(7000L / 256, ((Map<?, ?>) ((List<?>) verify.get("differences")).get(0)).get("chunk"));
    }

    /**
     * The leader stops (a crash, not a hand-over) while writes through the other nodes are in
     * flight to it: they may have been appended or not, and each is sent again to the new leader
     * instead of failing (which libiscsi answers with a LUN reset and the filesystem with EIO).
     */
    /**
     * The floating portal's holders fence their changes by the term each took it in: once a newer
     * holder changed the volume, a change from an older one (resent after a partition healed) is
     * refused on every replica, also after a checkpoint and restart; a node's own portal is not fenced.
     */
    @Test
    void changesThroughAnOlderPortalHolderAreRefusedOnceANewerOneChangedTheVolume() throws Exception {
        startAll();
        replicas[0].volume.write(0, pattern(8, 1), false, 5).join();
        replicas[1].volume.write(0, pattern(8, 2), false, 7).join(); // the portal's new holder
        assertFenced(replicas[0].volume.write(0, pattern(8, 3), false, 5));
        assertFenced(replicas[2].volume.unmap(List.of(new Extent(0, 8)), 5));
        assertFenced(replicas[0].volume.writeSame(0, 8, Unpooled.wrappedBuffer(new byte[BLOCK]), true, 5));
        ByteBuf current = pattern(1, 2);
        assertFenced(replicas[0].volume.compareAndWrite(0, current, pattern(1, 9), false, 5));
        List<CompletableFuture<Void>> concurrent = new ArrayList<>(); // gathered into fenced batches
        for (int i = 0; i < 8; i++) {
            concurrent.add(replicas[i % 3].volume.write(100 + 8L * i, pattern(8, 10 + i), false, 5));
        }
        concurrent.forEach(ReplicatedVolumeTest::assertFenced);
        for (Replica replica : replicas) {
            assertArrayEquals(bytes(pattern(8, 2)), bytes(replica.volume.read(0, 8).join()),
                    "node " + replica.number + " kept the newer holder's data");
            assertArrayEquals(new byte[64 * BLOCK], bytes(replica.volume.read(100, 64).join()),
                    "node " + replica.number + " applied none of the refused batch");
            assertEquals(7, replica.machine.fence(), "node " + replica.number);
        }
        replicas[2].volume.write(8, pattern(8, 4), false).join(); // unfenced
        replicas[2].volume.write(16, pattern(8, 5), false, 7).join(); // the holder goes on

        replicas[1].raft.server().snapshotManagement(SnapshotManagementRequest.newCreate(ClientId.randomId(),
                members.get(1).peerId(), group.getGroupId(), 0, 30_000, 1));
        replicas[1].close();
        replicas[1] = new Replica(1);
        replicas[1].volume.read(0, 1).join().release(); // serving again
        assertEquals(7, replicas[1].machine.fence(), "the fence survived the checkpoint and restart");
        assertFenced(replicas[0].volume.write(0, pattern(8, 6), false, 5));
        for (Replica replica : replicas) {
            assertArrayEquals(bytes(pattern(8, 2)), bytes(replica.volume.read(0, 8).join()));
            assertArrayEquals(bytes(pattern(8, 4)), bytes(replica.volume.read(8, 8).join()));
            assertArrayEquals(bytes(pattern(8, 5)), bytes(replica.volume.read(16, 8).join()));
        }
    }

    static void assertFenced(CompletableFuture<?> change) {
        CompletionException failure = assertThrows(CompletionException.class, change::join);
        VolumeException cause = assertInstanceOf(VolumeException.class, failure.getCause());
        assertEquals(VolumeException.Kind.FENCED, cause.kind(), cause.getMessage());
    }

    @Test
    void writesInFlightToALeaderThatStopsCompleteThroughTheNewOne() throws Exception {
        startAll();
        replicas[0].volume.write(0, pattern(16, 0), false).join();
        Replica leader = leader();
        int gone = leader.number;
        List<java.util.concurrent.CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 90; i++) {
            writes.add(replicas[(gone + 1 + i % 2) % 3].volume.write(64L * i, pattern(64, i), false));
            if (i == 30) {
                leader.close();
                replicas[gone] = null;
            }
        }
        java.util.concurrent.CompletableFuture.allOf(writes.toArray(java.util.concurrent.CompletableFuture[]::new))
                .join();
        for (int i = 0; i < 90; i++) {
            assertArrayEquals(bytes(pattern(64, i)), bytes(replicas[(gone + 2 - i % 2) % 3].volume.read(64L * i, 64)
                    .join()), "write " + i);
        }
    }

    @Test
    void theSurvivorsServeTheVolumeWhenTheLeaderStopsAndItCatchesUpWhenBack() throws Exception {
        startAll();
        replicas[0].volume.write(0, pattern(64, 1), false).join();
        Replica leader = leader();
        int gone = leader.number;
        leader.close();
        replicas[gone] = null;
        Replica survivor = replicas[(gone + 1) % 3];
        survivor.volume.write(64, pattern(64, 2), false).join();
        assertArrayEquals(bytes(pattern(64, 1)), bytes(replicas[(gone + 2) % 3].volume.read(0, 64).join()));

        replicas[gone] = new Replica(gone);
        assertArrayEquals(bytes(pattern(64, 2)), bytes(replicas[gone].volume.read(64, 64).join()),
                "the returning node replays what it missed before it answers a read");
    }

    @Test
    void aReplicaBehindThePurgedLogFetchesOnlyTheChunksThatChanged() throws Exception {
        startAll();
        // 8 MiB of data everywhere, then one node stops
        for (int i = 0; i < 16; i++) {
            replicas[0].volume.write(i * 1024L, pattern(1024, i), false).join();
        }
        Replica away = replicas[2];
        // a linearizable read through it: it has applied all of that before it stops (else, on a
        // loaded machine, it returns lacking some of it, and fetching that too is no fault)
        assertArrayEquals(bytes(pattern(1024, 15)), bytes(away.volume.read(15 * 1024L, 1024).join()));
        away.close();
        replicas[2] = null;
        // about 1% of the volume changes (2.5 MiB in 64 KiB writes, over several log segments)
        // while it is away
        long changed = 0;
        for (int i = 0; i < 40; i++) {
            replicas[0].volume.write(20_000L + i * 4096, pattern(128, 100 + i), false).join();
            changed += 128 * BLOCK;
        }
        // the others checkpoint and purge their logs, so the log alone cannot bring it back
        for (int i = 0; i < 2; i++) {
            replicas[i].raft.server().snapshotManagement(SnapshotManagementRequest.newCreate(ClientId.randomId(),
                    members.get(i).peerId(), group.getGroupId(), 0, 30_000, 1));
        }
        replicas[0].volume.write(30_000, pattern(128, 200), false).join(); // roll past the purged segment
        changed += 128 * BLOCK;
        for (int i = 0; i < 2; i++) {
            replicas[i].raft.server().snapshotManagement(SnapshotManagementRequest.newCreate(ClientId.randomId(),
                    members.get(i).peerId(), group.getGroupId(), 0, 30_000, 1));
        }

        replicas[2] = new Replica(2);
        for (int i = 0; i < 40; i++) {
            assertArrayEquals(bytes(pattern(128, 100 + i)), bytes(replicas[2].volume.read(20_000L + i * 4096, 128)
                    .join()));
        }
        assertArrayEquals(bytes(pattern(1024, 3)), bytes(replicas[2].volume.read(3 * 1024L, 1024).join()));
        long moved = replicas[2].machine.catchUpBytes();
        System.out.printf("catch-up moved %d bytes for %d bytes changed (volume %d bytes)%n", moved, changed,
                BLOCKS * BLOCK);
        assertTrue(moved > 0, "the returning replica caught up through the state machine");
        assertTrue(moved <= 2 * changed + 6 * 128 * 1024,
                "only changed chunks moved: " + moved + " bytes for " + changed + " bytes changed");
    }

    @Test
    void aNewReplicaIsCopiedFromTheLeaderAtTheGivenRateAndResumesWhereItStood() throws Exception {
        startAll();
        for (int i = 0; i < 12; i++) { // 6 MiB in 48 chunks
            replicas[i % 3].volume.write(i * 4096L, pattern(1024, i), false).join();
        }
        Replica leader = leader();
        long rate = 2 * 1024 * 1024;
        try (NodeStorage fresh = NodeStorage.open(dir.resolve("node4"))) {
            fresh.create(VOLUME, BLOCKS, BLOCK, null);
            java.util.concurrent.atomic.AtomicReference<ReplicaRebuild.Position> saved =
                    new java.util.concurrent.atomic.AtomicReference<>();
            ReplicaRebuild interrupted = new ReplicaRebuild(fresh.store(VOLUME),
                    (gid, query) -> replicas[2].raft.readRemote(group, query), group.getGroupId(), rate, null,
                    position -> {
                        saved.set(position);
                        if (position.bytesDone() >= 1024 * 1024) {
                            throw new IllegalStateException("the node stops here");
                        }
                    });
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, interrupted::run);
            ReplicaRebuild.Position stoppedAt = saved.get();
            assertTrue(stoppedAt.nextChunk() > 0 && stoppedAt.bytesDone() < stoppedAt.bytesTotal(), stoppedAt.toString());
            assertEquals(6 * 1024 * 1024, stoppedAt.bytesTotal());

            long start = System.nanoTime();
            List<ReplicaRebuild.Position> resumed = new java.util.concurrent.CopyOnWriteArrayList<>();
            ReplicaRebuild.Position done = new ReplicaRebuild(fresh.store(VOLUME),
                    (gid, query) -> replicas[2].raft.readRemote(group, query), group.getGroupId(), rate, stoppedAt,
                    resumed::add).run();
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(done.bytesTotal(), done.bytesDone(), done.toString());
            assertTrue(resumed.get(0).nextChunk() > stoppedAt.nextChunk()
                    && resumed.get(0).bytesDone() > stoppedAt.bytesDone(), "resumed, not started again: " + resumed);
            double least = (done.bytesTotal() - stoppedAt.bytesDone()) / (double) rate - 1; // a second's burst
            assertTrue(seconds >= least, "copied at no more than the rate: " + seconds + " s, at least " + least);
            assertEquals(leader.storage.store(VOLUME).allocatedCrcs(), fresh.store(VOLUME).allocatedCrcs(),
                    "the copy holds the leader's blocks");
            assertEquals(done.index(), fresh.store(VOLUME).durableIndex()[1], "checkpointed at the leader's index");
        }
    }
}

package io.raftlun.consensus;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meta group's state: a small map of documents (the target config, the volume placement)
 * that every node holds the same copy of, changed by compare-and-set in log order. Listeners see
 * each change on the applying thread; they hand heavy work elsewhere.
 *
 * <p>Entries: {@code PUT key expectedVersion value}, answered with the new version (the entry's
 * log index) or -1 when the expected version was not the current one. Queries: {@code GET_ALL}
 * (every document with its version, and the index they reflect) and {@code BARRIER} (nothing: once
 * it is answered, this replica's documents are up to date).
 */
public final class MetaStateMachine extends BaseStateMachine {

    private static final Logger log = LoggerFactory.getLogger(MetaStateMachine.class);
    private static final byte PUT = 1;
    private static final byte GET_ALL = 2;
    private static final byte BARRIER = 3;
    /** expectedVersion meaning "whatever is there". */
    public static final long ANY_VERSION = -2;

    /** A document and the log index of its last change (0: absent). */
    public record Document(byte[] value, long version) {
    }

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Map<String, Document> documents = new TreeMap<>();
    private final BiConsumer<String, Document> listener;
    private final LeaderQuery leaderQuery;
    private final LongAdder leaderChanges = new LongAdder();

    public MetaStateMachine(BiConsumer<String, Document> listener, LeaderQuery leaderQuery) {
        this.listener = listener;
        this.leaderQuery = leaderQuery;
    }

    /** Leaders this replica learned of (for metrics). */
    public long leaderChanges() {
        return leaderChanges.sum();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId newLeader) {
        leaderChanges.increment();
    }

    // ---------------------------------------------------------------- entries and queries

    public static Message put(String key, long expectedVersion, byte[] value) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(value.length + 64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(PUT);
            out.writeUTF(key);
            out.writeLong(expectedVersion);
            out.writeInt(value.length);
            out.write(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Message.valueOf(ByteString.copyFrom(bytes.toByteArray()));
    }

    /** The version {@link #put} produced, or -1 if the expected version did not match. */
    public static long version(Message answer) {
        return answer.getContent().asReadOnlyByteBuffer().getLong();
    }

    public static Message getAll() {
        return Message.valueOf(ByteString.copyFrom(new byte[] {GET_ALL}));
    }

    /** A linearizable read of nothing: after it, {@link #document} on this replica is current. */
    public static Message barrier() {
        return Message.valueOf(ByteString.copyFrom(new byte[] {BARRIER}));
    }

    // ---------------------------------------------------------------- state

    public synchronized Document document(String key) {
        return documents.getOrDefault(key, new Document(null, 0));
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        getLifeCycle().transition(LifeCycle.State.STARTING);
        storage.init(raftStorage);
        load(storage.loadLatestSnapshot());
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public void reinitialize() throws IOException {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        load(storage.loadLatestSnapshot());
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    /** Ratis pauses the state machine before it reloads it after a catch-up. */
    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return storage.getLatestSnapshot();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        RaftProtos.LogEntryProto entry = trx.getLogEntry();
        try (DataInputStream in = new DataInputStream(entry.getStateMachineLogEntry().getLogData().newInput())) {
            if (in.readByte() != PUT) {
                throw new IOException("unknown meta entry");
            }
            String key = in.readUTF();
            long expected = in.readLong();
            byte[] value = in.readNBytes(in.readInt());
            long version;
            Document changed = null;
            synchronized (this) {
                Document current = documents.getOrDefault(key, new Document(null, 0));
                if (expected != ANY_VERSION && expected != current.version()) {
                    version = -1;
                } else {
                    version = entry.getIndex();
                    changed = new Document(value, version);
                    documents.put(key, changed);
                }
                updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
            }
            if (changed != null) {
                listener.accept(key, changed);
            }
            return CompletableFuture.completedFuture(Message.valueOf(
                    ByteString.copyFrom(java.nio.ByteBuffer.allocate(8).putLong(0, version))));
        } catch (IOException | RuntimeException e) {
            log.error("meta entry {} could not be applied", entry.getIndex(), e);
            synchronized (this) {
                updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
            }
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        if (!request.getContent().isEmpty() && request.getContent().byteAt(0) == BARRIER) {
            return CompletableFuture.completedFuture(Message.EMPTY);
        }
        if (request.getContent().isEmpty() || request.getContent().byteAt(0) != GET_ALL) {
            return CompletableFuture.failedFuture(new IOException("unknown meta query"));
        }
        synchronized (this) {
            return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(encode())));
        }
    }

    // ---------------------------------------------------------------- snapshots

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last;
        byte[] encoded;
        synchronized (this) {
            last = getLastAppliedTermIndex();
            encoded = encode();
        }
        if (last == null || last.getIndex() < 0) {
            return -1;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        File temporary = new File(file.getPath() + ".tmp");
        Files.write(temporary.toPath(), encoded);
        try (var channel = java.nio.channels.FileChannel.open(temporary.toPath(), java.nio.file.StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(temporary.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), null), last));
        return last.getIndex();
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        byte[] encoded = Files.readAllBytes(snapshot.getFile().getPath());
        TermIndex at = restore(encoded);
        log.info("meta state restored at index {}", at.getIndex());
    }

    /** Replaces the whole state with {@code encoded} (as {@link #encode} made it) and tells the listener. */
    private TermIndex restore(byte[] encoded) throws IOException {
        Map<String, Document> restored = new TreeMap<>();
        TermIndex at;
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded))) {
            at = TermIndex.valueOf(in.readLong(), in.readLong());
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                String key = in.readUTF();
                long version = in.readLong();
                restored.put(key, new Document(in.readNBytes(in.readInt()), version));
            }
        }
        synchronized (this) {
            documents.clear();
            documents.putAll(restored);
            updateLastAppliedTermIndex(at.getTerm(), at.getIndex());
        }
        restored.forEach(listener);
        return at;
    }

    private byte[] encode() {
        TermIndex last = getLastAppliedTermIndex();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(last == null ? 0 : last.getTerm());
            out.writeLong(last == null ? -1 : last.getIndex());
            out.writeInt(documents.size());
            for (Map.Entry<String, Document> e : documents.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue().version());
                out.writeInt(e.getValue().value().length);
                out.write(e.getValue().value());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Behind the leader's purged log: take the leader's whole state (it is small) and go on from there. */
    @Override
    public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RaftProtos.RoleInfoProto roleInfo,
                                                                       TermIndex firstTermIndexInLog) {
        return leaderQuery.ask(getGroupId(), getAll()).thenApply(answer -> {
            try {
                TermIndex at = restore(answer.getContent().toByteArray());
                takeSnapshot();
                log.info("meta state fetched from the leader at index {}", at.getIndex());
                return at;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}

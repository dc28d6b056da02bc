package io.raftlun.iscsi.session;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's live sessions by initiator port and target (RFC 7143 §4.2.7.3): a new login with the
 * ISID of a live session reinstates it, closing the old one first; TSIHs are handed out here.
 * Commands of a session's ended connection that still execute are kept track of here too, so that
 * a login reinstating the session waits for them.
 */
public final class SessionRegistry {

    /** What identifies a session to the target: initiator name, ISID, target name. */
    record SessionKey(String initiatorName, long isid, String targetName) {
    }

    private final ConcurrentHashMap<SessionKey, IscsiConnection> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger nextTsih = new AtomicInteger(1);
    private final ConcurrentHashMap<SessionKey, CompletableFuture<Void>> commandsEnding = new ConcurrentHashMap<>();

    int newTsih() {
        while (true) {
            int tsih = nextTsih.getAndIncrement() & 0xffff;
            if (tsih != 0) {
                return tsih;
            }
        }
    }

    /** Registers {@code connection} for {@code key}; returns the session it replaces, or null. */
    IscsiConnection register(SessionKey key, IscsiConnection connection) {
        return sessions.put(key, connection);
    }

    IscsiConnection find(SessionKey key) {
        return sessions.get(key);
    }

    void unregister(SessionKey key, IscsiConnection connection) {
        sessions.remove(key, connection);
    }

    /** Notes that commands of session {@code key}'s ended connection still execute until {@code ended}. */
    void commandsEnding(SessionKey key, CompletableFuture<Void> ended) {
        if (ended.isDone()) {
            return;
        }
        CompletableFuture<Void> all = commandsEnding.merge(key, ended, CompletableFuture::allOf);
        all.whenComplete((done, failure) -> commandsEnding.remove(key, all));
    }

    /** Completes once no command of session {@code key}'s ended connections can change the medium. */
    CompletableFuture<Void> commandsEnded(SessionKey key) {
        return commandsEnding.getOrDefault(key, CompletableFuture.completedFuture(null));
    }

    /** Asks every session's initiator to log out (RFC 7143 §11.9.1 AsyncEvent 1) within {@code seconds}. */
    public void requestLogoutAll(int seconds) {
        sessions.values().forEach(connection -> connection.requestLogout(seconds));
    }

    /** A live session as {@code show} lists it (tgtadm's I_T nexus information). */
    public record Session(String initiatorName, String isid, String targetName, String address) {
    }

    public List<Session> sessions() {
        return sessions.entrySet().stream().map(e -> new Session(e.getKey().initiatorName(),
                String.format("%012x", e.getKey().isid()), e.getKey().targetName(),
                e.getValue().peerAddress().getHostAddress())).toList();
    }

    /** Live sessions (for status and metrics). */
    public int size() {
        return sessions.size();
    }
}

package io.raftlun.consensus;

import java.net.InetSocketAddress;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;

/**
 * One node as Raft knows it: its name (the Raft peer id) and the address its Raft server listens on.
 */
public record RaftMember(String name, InetSocketAddress raftAddress) {

    public RaftPeerId peerId() {
        return RaftPeerId.valueOf(name);
    }

    /** A peer of a group's configuration as a member (the peer id is the node's name). */
    public static RaftMember of(RaftPeer peer) {
        return parse(peer.getId().toString(), peer.getAddress());
    }

    /** A member from its name and Raft address HOST:PORT (an IPv6 host in brackets). */
    public static RaftMember parse(String name, String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("a Raft address is HOST:PORT, not " + address);
        }
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        try {
            return new RaftMember(name, new InetSocketAddress(host, Integer.parseInt(address.substring(colon + 1))));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a Raft address is HOST:PORT, not " + address);
        }
    }

    RaftPeer peer() {
        return RaftPeer.newBuilder().setId(peerId()).setAddress(HostPort.of(raftAddress)).build();
    }
}

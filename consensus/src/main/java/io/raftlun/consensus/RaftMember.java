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

    RaftPeer peer() {
        String host = raftAddress.getHostString();
        String address = (host.contains(":") ? "[" + host + "]" : host) + ":" + raftAddress.getPort();
        return RaftPeer.newBuilder().setId(peerId()).setAddress(address).build();
    }
}

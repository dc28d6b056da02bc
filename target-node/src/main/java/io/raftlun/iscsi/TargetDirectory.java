package io.raftlun.iscsi;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/** What the iSCSI layer needs to know about the targets this node serves. */
public interface TargetDirectory {

    /** The target with this IQN, if this node serves it. */
    Optional<IscsiTarget> find(String targetName);

    /** Every target, in tid order. */
    List<IscsiTarget> all();

    /** Incoming CHAP accounts for discovery sessions (empty: discovery needs no authentication). */
    List<ChapAccount> discoveryAccounts();

    /** One exported target as the login and discovery code sees it. */
    interface IscsiTarget {
        int tid();

        String name();

        /** TargetAlias, or null. */
        String alias();

        /** Whether this initiator, from this address, may log in (tgt's ACLs; "ALL" admits anyone). */
        boolean admits(String initiatorName, InetAddress initiatorAddress);

        /** Accounts an initiator may authenticate with; empty means no authentication required. */
        List<ChapAccount> incomingAccounts();

        /** The account the target answers mutual CHAP with, if any. */
        Optional<ChapAccount> outgoingAccount();

        /** Every portal the target is reachable on ({@code address:port,tpgt}), for SendTargets. */
        List<String> portals();

        /** The SCSI device behind the target. */
        io.raftlun.scsi.ScsiTarget scsi();
    }

    /** A CHAP user name and secret (RFC 1994; RFC 7143 §12.1.3). */
    record ChapAccount(String user, String secret) {
        @Override
        public String toString() {
            return "ChapAccount[" + user + "]";
        }
    }
}

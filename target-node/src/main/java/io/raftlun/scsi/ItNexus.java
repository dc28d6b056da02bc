package io.raftlun.scsi;

import java.util.Objects;

/**
 * An I_T nexus (SAM-5 4.7): one initiator port talking to one target port. For iSCSI the
 * initiator port is the initiator name plus the session's ISID (RFC 7143 §4.2.7.3), the target
 * port the target name plus the portal group tag.
 *
 * <p>The port names are built once: every command's reservation check looks its nexus up by them.
 */
public final class ItNexus {

    private final String initiatorName;
    private final long isid;
    private final String targetName;
    private final int portalGroupTag;
    private final int relativeTargetPort;
    private final long fencingToken;
    private final String initiatorPortName;
    private final String targetPortName;
    private final String reservationKey;

    /**
     * @param initiatorName      the iSCSI initiator name (iqn./eui./naa.)
     * @param isid               the session's 6-byte ISID as a number
     * @param targetName         the target's IQN
     * @param portalGroupTag     the target portal group tag (also the SCSI target port group)
     * @param relativeTargetPort the relative target port identifier of this node's port (1-based)
     * @param fencingToken       the token of the portal the session logged in through, which its
     *                           changes carry (see {@link io.raftlun.volume.BlockVolume#write(long,
     *                           io.netty.buffer.ByteBuf, boolean, long)}); 0 for a node's own portal
     */
    public ItNexus(String initiatorName, long isid, String targetName, int portalGroupTag, int relativeTargetPort,
                   long fencingToken) {
        this.initiatorName = initiatorName;
        this.isid = isid;
        this.targetName = targetName;
        this.portalGroupTag = portalGroupTag;
        this.relativeTargetPort = relativeTargetPort;
        this.fencingToken = fencingToken;
        this.initiatorPortName = initiatorName + ",i,0x" + String.format("%012x", isid);
        this.targetPortName = targetName + ",t,0x" + String.format("%04x", portalGroupTag);
        this.reservationKey = initiatorPortName + "|" + targetPortName;
    }

    public String initiatorName() {
        return initiatorName;
    }

    public long isid() {
        return isid;
    }

    public String targetName() {
        return targetName;
    }

    public int portalGroupTag() {
        return portalGroupTag;
    }

    public int relativeTargetPort() {
        return relativeTargetPort;
    }

    /** The fencing token the session's changes carry (0: none). */
    public long fencingToken() {
        return fencingToken;
    }

    /** The SCSI initiator port name, as in TransportIDs: {@code name,i,0x<ISID>}. */
    public String initiatorPortName() {
        return initiatorPortName;
    }

    /** The SCSI target port name: {@code name,t,0x<TPGT>}. */
    public String targetPortName() {
        return targetPortName;
    }

    /** The nexus as persistent reservations name it: both port names. */
    public String reservationKey() {
        return reservationKey;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ItNexus that && isid == that.isid && portalGroupTag == that.portalGroupTag
                && relativeTargetPort == that.relativeTargetPort && initiatorName.equals(that.initiatorName)
                && targetName.equals(that.targetName);
    }

    @Override
    public int hashCode() {
        return Objects.hash(initiatorName, isid, targetName, portalGroupTag, relativeTargetPort);
    }

    @Override
    public String toString() {
        return reservationKey;
    }
}

package io.raftlun.scsi;

/**
 * An I_T nexus (SAM-5 4.7): one initiator port talking to one target port. For iSCSI the
 * initiator port is the initiator name plus the session's ISID (RFC 7143 §4.2.7.3), the target
 * port the target name plus the portal group tag.
 *
 * @param initiatorName      the iSCSI initiator name (iqn./eui./naa.)
 * @param isid               the session's 6-byte ISID as a number
 * @param targetName         the target's IQN
 * @param portalGroupTag     the target portal group tag (also the SCSI target port group)
 * @param relativeTargetPort the relative target port identifier of this node's port (1-based)
 */
public record ItNexus(String initiatorName, long isid, String targetName, int portalGroupTag,
                      int relativeTargetPort) {

    /** The SCSI initiator port name, as in TransportIDs: {@code name,i,0x<ISID>}. */
    public String initiatorPortName() {
        return initiatorName + ",i,0x" + String.format("%012x", isid);
    }

    /** The SCSI target port name: {@code name,t,0x<TPGT>}. */
    public String targetPortName() {
        return targetName + ",t,0x" + String.format("%04x", portalGroupTag);
    }
}

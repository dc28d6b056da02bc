package io.raftlun.scsi;

/**
 * The SCSI identity of a logical unit: identical on every node for the same volume, so that
 * multipath initiators see one device (SPC-4 7.8.6). (Stub: filled in by the SCSI layer.)
 *
 * @param vendor  T10 vendor identification (8 characters)
 * @param product product identification (16 characters)
 * @param serial  unit serial number (VPD 0x80)
 * @param naa     16-byte NAA designator (VPD 0x83)
 */
public record LunIdentity(String vendor, String product, String serial, byte[] naa) {

    /** The identity every node derives for the volume with this name. */
    public static LunIdentity forVolume(String volumeName) {
        return new LunIdentity("RAFTLUN", "VOLUME", volumeName, new byte[16]);
    }
}

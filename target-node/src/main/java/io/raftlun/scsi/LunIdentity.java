package io.raftlun.scsi;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The SCSI identity of a logical unit, derived from the volume's name alone, so that every node
 * reports the same device and multipath initiators see one disk (SPC-4 7.8.6).
 *
 * @param vendor  T10 vendor identification (8 characters)
 * @param product product identification (16 characters)
 * @param serial  unit serial number (VPD 0x80)
 * @param naa     16-byte NAA IEEE Registered Extended designator (VPD 0x83)
 */
public record LunIdentity(String vendor, String product, String serial, byte[] naa) {

    public static final String VENDOR = "RAFTLUN";
    public static final String PRODUCT = "VOLUME";
    public static final String REVISION = "0001";

    /**
     * NAA type 6 with a locally administered company id: 0x6, a 24-bit company id, then 100 bits
     * taken from a hash of the volume name.
     */
    private static final int COMPANY_ID = 0x0ab1e5; // locally chosen; no IEEE OUI is claimed

    /** The identity every node derives for the volume with this name. */
    public static LunIdentity forVolume(String volumeName) {
        byte[] hash;
        try {
            hash = MessageDigest.getInstance("SHA-256").digest(volumeName.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
        byte[] naa = new byte[16];
        naa[0] = (byte) (0x60 | (COMPANY_ID >>> 20));
        naa[1] = (byte) (COMPANY_ID >>> 12);
        naa[2] = (byte) (COMPANY_ID >>> 4);
        naa[3] = (byte) ((COMPANY_ID & 0x0f) << 4 | (hash[0] & 0x0f));
        System.arraycopy(hash, 1, naa, 4, 12);
        StringBuilder serial = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            serial.append(String.format("%02x", hash[i]));
        }
        return new LunIdentity(VENDOR, PRODUCT, serial.toString(), naa);
    }
}

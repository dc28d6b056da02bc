package io.raftlun.scsi;

/**
 * The 8-byte LUN field (SAM-5 4.7.7): LUNs below 256 use peripheral device addressing, the rest
 * flat space addressing, as Linux and most targets do.
 */
public final class LunAddress {

    private LunAddress() {
    }

    /** The LUN number addressed by a LUN field (first level only). */
    public static long decode(long field) {
        int first = (int) (field >>> 56) & 0xff;
        int second = (int) (field >>> 48) & 0xff;
        int method = first >>> 6;
        if (method == 1) {
            return ((first & 0x3f) << 8) | second;
        }
        if (method == 0 && first == 0) {
            return second;
        }
        return -1; // addressing methods we do not serve
    }

    /** The LUN field for a LUN number. */
    public static long encode(long lun) {
        if (lun < 256) {
            return lun << 48;
        }
        return ((0x4000L | (lun & 0x3fff)) << 48);
    }
}

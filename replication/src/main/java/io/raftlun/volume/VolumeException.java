package io.raftlun.volume;

import java.util.concurrent.CompletionException;

/**
 * A volume could not do what was asked. The SCSI layer turns the {@link Kind} into sense data,
 * so a failing volume never reaches an initiator as a dropped command.
 */
public class VolumeException extends RuntimeException {

    public enum Kind {
        /** The range lies outside the volume. */
        OUT_OF_RANGE,
        /** Reading failed and could not be repaired from another replica. */
        MEDIUM_ERROR,
        /** The volume cannot commit writes now (no quorum, shutting down). */
        UNAVAILABLE,
        /** The volume is read-only. */
        WRITE_PROTECTED,
        /**
         * The change came through a portal this node held once (the floating portal) and a newer
         * holder of it has changed the volume since: the initiator has moved on, this connection is stale.
         */
        FENCED,
        /** Anything else. */
        INTERNAL
    }

    private final Kind kind;

    public VolumeException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public VolumeException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    /**
     * What a volume's future failed with, without the {@link CompletionException}
     * a dependent stage wraps it in.
     */
    public static Throwable cause(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
    }

    /** Throws {@link Kind#OUT_OF_RANGE} unless blocks {@code [lba, lba + blocks)} lie within the volume. */
    public static void requireInRange(String volume, long blockCount, long lba, long blocks) {
        if (lba < 0 || blocks < 0 || lba > blockCount || blocks > blockCount - lba) {
            throw new VolumeException(Kind.OUT_OF_RANGE, "blocks " + lba + "+" + blocks + " lie beyond the end of volume "
                    + volume + " (" + blockCount + " blocks)");
        }
    }
}

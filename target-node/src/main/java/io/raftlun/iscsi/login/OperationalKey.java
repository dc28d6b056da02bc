package io.raftlun.iscsi.login;

import io.raftlun.iscsi.IscsiLimits;

/**
 * The operational text keys and how each is negotiated (RFC 7143 §13): its result function, its
 * range, the RFC default, and what this target offers. A table, so that "which keys do we know and
 * how" is one readable list.
 */
enum OperationalKey {
    HEADER_DIGEST("HeaderDigest", Kind.DIGEST_LIST, 0, 0, 0, 0, true),
    DATA_DIGEST("DataDigest", Kind.DIGEST_LIST, 0, 0, 0, 0, true),
    MAX_CONNECTIONS("MaxConnections", Kind.MINIMUM, 1, 65535, 1, 1, false),
    INITIAL_R2T("InitialR2T", Kind.OR, 0, 1, 1, 0, false),
    IMMEDIATE_DATA("ImmediateData", Kind.AND, 0, 1, 1, 1, false),
    MAX_RECV_DATA_SEGMENT_LENGTH("MaxRecvDataSegmentLength", Kind.DECLARATIVE, 512, (1 << 24) - 1, 8192,
            IscsiLimits.TARGET_MAX_RECV_DATA_SEGMENT_LENGTH, true),
    MAX_BURST_LENGTH("MaxBurstLength", Kind.MINIMUM, 512, (1 << 24) - 1, 262144, IscsiLimits.MAX_BURST_LENGTH,
            false),
    FIRST_BURST_LENGTH("FirstBurstLength", Kind.MINIMUM, 512, (1 << 24) - 1, 65536,
            IscsiLimits.FIRST_BURST_LENGTH, false),
    DEFAULT_TIME_2_WAIT("DefaultTime2Wait", Kind.MAXIMUM, 0, 3600, 2, IscsiLimits.DEFAULT_TIME_2_WAIT, true),
    DEFAULT_TIME_2_RETAIN("DefaultTime2Retain", Kind.MINIMUM, 0, 3600, 20, IscsiLimits.DEFAULT_TIME_2_RETAIN,
            true),
    MAX_OUTSTANDING_R2T("MaxOutstandingR2T", Kind.MINIMUM, 1, 65535, 1, IscsiLimits.MAX_OUTSTANDING_R2T, false),
    DATA_PDU_IN_ORDER("DataPDUInOrder", Kind.OR, 0, 1, 1, 1, false),
    DATA_SEQUENCE_IN_ORDER("DataSequenceInOrder", Kind.OR, 0, 1, 1, 1, false),
    ERROR_RECOVERY_LEVEL("ErrorRecoveryLevel", Kind.MINIMUM, 0, 2, 0, 0, true),
    // Markers were made obsolete by RFC 7143 (§13.25); older initiators still offer them.
    OF_MARKER("OFMarker", Kind.AND, 0, 1, 0, 0, true),
    IF_MARKER("IFMarker", Kind.AND, 0, 1, 0, 0, true),
    // RFC 7144 keys: we speak RFC 7143 (protocol level 1) with the original task reporting.
    ISCSI_PROTOCOL_LEVEL("iSCSIProtocolLevel", Kind.MINIMUM, 0, 31, 0, 1, true);

    enum Kind {
        /** Result is the first value of the offered list we support (None, CRC32C). */
        DIGEST_LIST,
        /** Boolean, result is Yes only if both say Yes. */
        AND,
        /** Boolean, result is Yes if either says Yes. */
        OR,
        /** Numerical, result is the smaller value. */
        MINIMUM,
        /** Numerical, result is the larger value. */
        MAXIMUM,
        /** Each side declares its own value; no negotiation. */
        DECLARATIVE
    }

    final String key;
    final Kind kind;
    final int min;
    final int max;
    final int rfcDefault;
    final int ours;
    final boolean relevantForDiscovery;

    OperationalKey(String key, Kind kind, int min, int max, int rfcDefault, int ours,
                   boolean relevantForDiscovery) {
        this.key = key;
        this.kind = kind;
        this.min = min;
        this.max = max;
        this.rfcDefault = rfcDefault;
        this.ours = ours;
        this.relevantForDiscovery = relevantForDiscovery;
    }

    static OperationalKey named(String key) {
        for (OperationalKey k : values()) {
            if (k.key.equals(key)) {
                return k;
            }
        }
        return null;
    }

    /** Keys answered "Irrelevant" rather than negotiated, since markers are gone (RFC 7143 §13.25). */
    static boolean isObsoleteMarkerInterval(String key) {
        return key.equals("OFMarkInt") || key.equals("IFMarkInt");
    }
}

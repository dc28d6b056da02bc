package io.raftlun.iscsi.login;

import io.raftlun.iscsi.TargetDirectory.ChapAccount;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * CHAP with MD5 (RFC 1994), the one authentication method iSCSI initiators all speak
 * (RFC 7143 §12.1.3): the target challenges, the initiator proves it knows a secret; with mutual
 * CHAP the initiator challenges back and the target proves it knows its own.
 */
final class Chap {

    /** CHAP_A value for MD5 (RFC 1994 §2.1 algorithm 5). */
    static final String MD5 = "5";
    private static final int CHALLENGE_LENGTH = 16;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final int identifier;
    private final byte[] challenge;

    Chap() {
        this.identifier = RANDOM.nextInt(256);
        this.challenge = new byte[CHALLENGE_LENGTH];
        RANDOM.nextBytes(challenge);
    }

    int identifier() {
        return identifier;
    }

    String encodedChallenge() {
        return "0x" + HexFormat.of().formatHex(challenge);
    }

    /** The account whose secret produced {@code response}, if any. */
    Optional<ChapAccount> verify(String user, String response, List<ChapAccount> accounts) throws LoginException {
        byte[] received = decodeBinary(response);
        for (ChapAccount account : accounts) {
            if (account.user().equals(user)
                    && MessageDigest.isEqual(received, digest(identifier, account.secret(), challenge))) {
                return Optional.of(account);
            }
        }
        return Optional.empty();
    }

    /** Our answer to the initiator's challenge, for mutual CHAP. */
    String respond(int initiatorIdentifier, String initiatorChallenge, ChapAccount outgoing) throws LoginException {
        byte[] theirs = decodeBinary(initiatorChallenge);
        if (MessageDigest.isEqual(theirs, challenge)) {
            // A reflected challenge would let an attacker use us to answer our own (RFC 7143 §12.1.3).
            throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "initiator reflected our CHAP challenge");
        }
        if (theirs.length == 0 || theirs.length > 1024) {
            throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "bad CHAP challenge length");
        }
        return "0x" + HexFormat.of().formatHex(digest(initiatorIdentifier, outgoing.secret(), theirs));
    }

    static byte[] digest(int identifier, String secret, byte[] challenge) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update((byte) identifier);
            md5.update(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md5.update(challenge);
            return md5.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is required of every Java platform", e);
        }
    }

    /** Binary values are hex ("0x...") or base64 ("0b...") encoded (RFC 7143 §6.1). */
    static byte[] decodeBinary(String value) throws LoginException {
        try {
            if (value.startsWith("0x") || value.startsWith("0X")) {
                String hex = value.substring(2);
                if ((hex.length() & 1) == 1) {
                    hex = "0" + hex;
                }
                return HexFormat.of().parseHex(hex);
            }
            if (value.startsWith("0b") || value.startsWith("0B")) {
                return Base64.getDecoder().decode(value.substring(2));
            }
        } catch (IllegalArgumentException e) {
            // falls through to the failure below
        }
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "malformed CHAP binary value");
    }
}

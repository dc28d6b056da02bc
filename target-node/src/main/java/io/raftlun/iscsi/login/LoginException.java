package io.raftlun.iscsi.login;

/**
 * A login that must end with a failure status (RFC 7143 §11.13.5). Caught at the connection and
 * turned into a Login Response; never leaves the login code as a crash.
 */
public final class LoginException extends Exception {

    /** Status-Class 2 and 3 details used here (RFC 7143 §11.13.5). */
    public static final int INITIATOR_ERROR = 0x0200;
    public static final int AUTHENTICATION_FAILURE = 0x0201;
    public static final int AUTHORIZATION_FAILURE = 0x0202;
    public static final int NOT_FOUND = 0x0203;
    public static final int UNSUPPORTED_VERSION = 0x0205;
    public static final int TOO_MANY_CONNECTIONS = 0x0206;
    public static final int MISSING_PARAMETER = 0x0207;
    public static final int SESSION_TYPE_NOT_SUPPORTED = 0x0209;
    public static final int SESSION_DOES_NOT_EXIST = 0x020a;
    public static final int INVALID_DURING_LOGIN = 0x020b;
    public static final int TARGET_ERROR = 0x0300;
    public static final int SERVICE_UNAVAILABLE = 0x0301;

    private final int status;

    public LoginException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    static LoginException initiatorError(String message) {
        return new LoginException(INITIATOR_ERROR, message);
    }

    /** Status-Class (high byte) and Status-Detail (low byte). */
    public int status() {
        return status;
    }

    /** The reason in the metrics' and logs' words. */
    public String reason() {
        return switch (status) {
            case AUTHENTICATION_FAILURE -> "auth";
            case AUTHORIZATION_FAILURE -> "acl";
            case NOT_FOUND -> "unknown_target";
            case TARGET_ERROR, SERVICE_UNAVAILABLE -> "target_error";
            default -> "protocol";
        };
    }
}

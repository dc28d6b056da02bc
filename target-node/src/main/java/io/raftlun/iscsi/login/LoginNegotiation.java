package io.raftlun.iscsi.login;

import io.raftlun.iscsi.TargetDirectory;
import io.raftlun.iscsi.TargetDirectory.ChapAccount;
import io.raftlun.iscsi.TargetDirectory.IscsiTarget;
import io.raftlun.iscsi.pdu.LoginRequest;
import java.net.InetAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The target's side of one connection's login (RFC 7143 §6): the security stage with CHAP or
 * None, the operational stage with every key negotiated by the rules of {@link OperationalKey},
 * and the move to full feature phase. Holds no socket: it turns each request into the keys to
 * answer, or a {@link LoginException} that ends the login with its status.
 */
public final class LoginNegotiation {

    public static final int SECURITY_STAGE = 0;
    public static final int OPERATIONAL_STAGE = 1;
    public static final int FULL_FEATURE_PHASE = 3;

    /** The answer to one Login Request. */
    public record Step(TextKeys answers, boolean transit, int currentStage, int nextStage) {
        public boolean complete() {
            return transit && nextStage == FULL_FEATURE_PHASE;
        }
    }

    private enum ChapState { NOT_STARTED, ALGORITHM_SENT, DONE }

    private final TargetDirectory directory;
    private final InetAddress initiatorAddress;
    private final int portalGroupTag;

    private boolean started;
    private int stage;
    private long isid;
    private int tsih;
    private String initiatorName;
    private boolean discovery;
    private IscsiTarget target;
    private boolean authenticationRequired;
    private boolean authenticated;
    private boolean usingChap;
    private ChapState chapState = ChapState.NOT_STARTED;
    private Chap chap;
    private String authenticatedUser;
    private boolean declaredOurLimits;
    private boolean answeredFirstResponse;
    private final Map<OperationalKey, Integer> negotiated = new EnumMap<>(OperationalKey.class);
    private TextKeys pendingText;

    public LoginNegotiation(TargetDirectory directory, InetAddress initiatorAddress, int portalGroupTag) {
        this.directory = directory;
        this.initiatorAddress = initiatorAddress;
        this.portalGroupTag = portalGroupTag;
        for (OperationalKey key : OperationalKey.values()) {
            negotiated.put(key, key.rfcDefault);
        }
    }

    /** Handles one Login Request; {@code keys} is its parsed data segment. */
    public Step handle(LoginRequest request, TextKeys keys) throws LoginException {
        if (!started) {
            start(request, keys);
        } else if (request.isid() != isid || request.tsih() != tsih) {
            throw LoginException.initiatorError("ISID or TSIH changed during login");
        }
        int csg = request.currentStage();
        if (csg != stage) {
            throw LoginException.initiatorError("login stage " + csg + " where " + stage + " was expected");
        }
        if (request.transit() && (request.nextStage() <= csg || request.nextStage() == 2)) {
            throw LoginException.initiatorError("invalid next stage " + request.nextStage() + " from " + csg);
        }
        if (request.continues()) {
            // RFC 7143 §6.2: text split over several PDUs is answered once it is whole.
            pendingText = pendingText == null ? keys : pendingText.putAll(keys);
            return new Step(new TextKeys(), false, csg, csg);
        }
        if (pendingText != null) {
            keys = pendingText.putAll(keys);
            pendingText = null;
        }
        TextKeys answers = new TextKeys();
        if (csg == SECURITY_STAGE) {
            security(keys, answers);
        } else {
            if (authenticationRequired && !authenticated) {
                throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                        "target requires CHAP but the initiator skipped the security stage");
            }
            operational(keys, answers);
        }
        boolean ready = csg == OPERATIONAL_STAGE || authenticated;
        boolean transit = request.transit() && ready;
        if (transit) {
            stage = request.nextStage();
        }
        return new Step(answers, transit, csg, transit ? request.nextStage() : csg);
    }

    private void start(LoginRequest request, TextKeys keys) throws LoginException {
        started = true;
        isid = request.isid();
        tsih = request.tsih();
        stage = request.currentStage();
        if (request.versionMin() > 0) {
            throw new LoginException(LoginException.UNSUPPORTED_VERSION, "iSCSI version " + request.versionMin());
        }
        if (stage != SECURITY_STAGE && stage != OPERATIONAL_STAGE) {
            throw LoginException.initiatorError("login cannot start in stage " + stage);
        }
        initiatorName = keys.get("InitiatorName")
                .orElseThrow(() -> new LoginException(LoginException.MISSING_PARAMETER, "no InitiatorName"));
        String sessionType = keys.get("SessionType").orElse("Normal");
        switch (sessionType) {
            case "Discovery" -> {
                discovery = true;
                authenticationRequired = !directory.discoveryAccounts().isEmpty();
            }
            case "Normal" -> {
                String targetName = keys.get("TargetName")
                        .orElseThrow(() -> new LoginException(LoginException.MISSING_PARAMETER, "no TargetName"));
                target = directory.find(targetName)
                        .orElseThrow(() -> new LoginException(LoginException.NOT_FOUND, "no target " + targetName));
                if (!target.admits(initiatorName, initiatorAddress)) {
                    throw new LoginException(LoginException.AUTHORIZATION_FAILURE,
                            initiatorName + " from " + initiatorAddress.getHostAddress() + " is not bound to "
                                    + targetName);
                }
                authenticationRequired = !target.incomingAccounts().isEmpty();
            }
            default -> throw new LoginException(LoginException.SESSION_TYPE_NOT_SUPPORTED,
                    "session type " + sessionType);
        }
    }

    private void security(TextKeys keys, TextKeys answers) throws LoginException {
        if (!discovery && !answeredFirstResponse) {
            answers.put("TargetPortalGroupTag", Integer.toString(portalGroupTag));
            if (target.alias() != null) {
                answers.put("TargetAlias", target.alias());
            }
            answeredFirstResponse = true;
        }
        Optional<String> authMethod = keys.get("AuthMethod");
        if (authMethod.isPresent()) {
            String chosen = chooseAuthMethod(authMethod.get());
            answers.put("AuthMethod", chosen);
            usingChap = chosen.equals("CHAP");
            authenticated = !usingChap;
        } else if (!usingChap && !authenticated) {
            throw LoginException.initiatorError("security stage without AuthMethod");
        }
        if (usingChap) {
            chapStep(keys, answers);
        }
        for (Map.Entry<String, String> offer : keys.asMap().entrySet()) {
            String key = offer.getKey();
            if (!key.equals("AuthMethod") && !key.startsWith("CHAP_") && !isLoginDeclaration(key)) {
                answerOperational(key, offer.getValue(), answers);
            }
        }
    }



    private String chooseAuthMethod(String offered) throws LoginException {
        List<String> methods = List.of(offered.split(","));
        if (authenticationRequired) {
            if (methods.contains("CHAP")) {
                return "CHAP";
            }
            throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                    "target requires CHAP, initiator offered " + offered);
        }
        if (methods.contains("None")) {
            return "None";
        }
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                "no CHAP account is set up, and the initiator offered only " + offered);
    }

    private void chapStep(TextKeys keys, TextKeys answers) throws LoginException {
        switch (chapState) {
            case NOT_STARTED -> {
                Optional<String> algorithms = keys.get("CHAP_A");
                if (algorithms.isEmpty()) {
                    return; // the AuthMethod answer comes first; CHAP_A follows in the next request
                }
                if (!List.of(algorithms.get().split(",")).contains(Chap.MD5)) {
                    throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                            "CHAP algorithms " + algorithms.get() + " do not include MD5");
                }
                chap = new Chap();
                answers.put("CHAP_A", Chap.MD5);
                answers.put("CHAP_I", Integer.toString(chap.identifier()));
                answers.put("CHAP_C", chap.encodedChallenge());
                chapState = ChapState.ALGORITHM_SENT;
            }
            case ALGORITHM_SENT -> {
                String user = keys.get("CHAP_N").orElseThrow(() ->
                        new LoginException(LoginException.AUTHENTICATION_FAILURE, "no CHAP_N"));
                String response = keys.get("CHAP_R").orElseThrow(() ->
                        new LoginException(LoginException.AUTHENTICATION_FAILURE, "no CHAP_R"));
                List<ChapAccount> accounts = discovery ? directory.discoveryAccounts() : target.incomingAccounts();
                if (chap.verify(user, response, accounts).isEmpty()) {
                    throw new LoginException(LoginException.AUTHENTICATION_FAILURE,
                            "CHAP authentication failed for user " + user);
                }
                authenticatedUser = user;
                Optional<String> theirChallenge = keys.get("CHAP_C");
                if (theirChallenge.isPresent()) {
                    ChapAccount outgoing = (discovery ? Optional.<ChapAccount>empty() : target.outgoingAccount())
                            .orElseThrow(() -> new LoginException(LoginException.AUTHENTICATION_FAILURE,
                                    "initiator asked for mutual CHAP, but the target has no outgoing account"));
                    int identifier = parseChapIdentifier(keys.get("CHAP_I").orElseThrow(() ->
                            new LoginException(LoginException.AUTHENTICATION_FAILURE, "CHAP_C without CHAP_I")));
                    answers.put("CHAP_N", outgoing.user());
                    answers.put("CHAP_R", chap.respond(identifier, theirChallenge.get(), outgoing));
                }
                chapState = ChapState.DONE;
                authenticated = true;
            }
            case DONE -> {
                if (keys.asMap().keySet().stream().anyMatch(k -> k.startsWith("CHAP_"))) {
                    throw LoginException.initiatorError("CHAP keys after authentication completed");
                }
            }
        }
    }

    private static int parseChapIdentifier(String value) throws LoginException {
        try {
            int identifier = Integer.decode(value);
            if (identifier >= 0 && identifier <= 255) {
                return identifier;
            }
        } catch (NumberFormatException e) {
            // falls through
        }
        throw new LoginException(LoginException.AUTHENTICATION_FAILURE, "bad CHAP_I " + value);
    }

    private void operational(TextKeys keys, TextKeys answers) throws LoginException {
        if (!discovery && !answeredFirstResponse) {
            answers.put("TargetPortalGroupTag", Integer.toString(portalGroupTag));
            if (target.alias() != null) {
                answers.put("TargetAlias", target.alias());
            }
            answeredFirstResponse = true;
        }
        for (Map.Entry<String, String> offer : keys.asMap().entrySet()) {
            String key = offer.getKey();
            if (key.equals("AuthMethod") || key.startsWith("CHAP_")) {
                throw LoginException.initiatorError(key + " in the operational stage");
            }
            if (!isLoginDeclaration(key)) {
                answerOperational(key, offer.getValue(), answers);
            }
        }
        if (!declaredOurLimits) {
            answers.put("MaxRecvDataSegmentLength",
                    Integer.toString(OperationalKey.MAX_RECV_DATA_SEGMENT_LENGTH.ours));
            declaredOurLimits = true;
        }
    }

    /** Declarations an initiator makes at login that need no answer. */
    private static boolean isLoginDeclaration(String key) {
        return key.equals("InitiatorName") || key.equals("InitiatorAlias") || key.equals("TargetName")
                || key.equals("SessionType");
    }

    private void answerOperational(String key, String value, TextKeys answers) {
        OperationalKey known = OperationalKey.named(key);
        if (known == null) {
            if (OperationalKey.isObsoleteMarkerInterval(key) || key.equals("SendTargets")) {
                answers.put(key, "Irrelevant");
            } else if (key.equals("TaskReporting")) {
                answers.put(key, "RFC3720");
            } else if (key.equals("TargetAlias") || key.equals("TargetAddress")
                    || key.equals("TargetPortalGroupTag")) {
                answers.put(key, "Reject"); // only a target declares these
            } else {
                answers.put(key, "NotUnderstood");
            }
            return;
        }
        if (discovery && !known.relevantForDiscovery) {
            answers.put(key, "Irrelevant");
            return;
        }
        switch (known.kind) {
            case DIGEST_LIST -> {
                String chosen = null;
                for (String candidate : value.split(",")) {
                    if (candidate.equals("None") || candidate.equals("CRC32C")) {
                        chosen = candidate;
                        break;
                    }
                }
                if (chosen == null) {
                    answers.put(key, "Reject");
                } else {
                    negotiated.put(known, chosen.equals("CRC32C") ? 1 : 0);
                    answers.put(key, chosen);
                }
            }
            case AND, OR -> {
                if (!value.equals("Yes") && !value.equals("No")) {
                    answers.put(key, "Reject");
                    return;
                }
                boolean offered = value.equals("Yes");
                boolean ours = known.ours == 1;
                boolean result = known.kind == OperationalKey.Kind.AND ? offered && ours : offered || ours;
                negotiated.put(known, result ? 1 : 0);
                answers.put(key, result ? "Yes" : "No");
            }
            case MINIMUM, MAXIMUM, DECLARATIVE -> {
                Integer offered = parseNumber(value, known.min, known.max);
                if (offered == null) {
                    answers.put(key, "Reject");
                    return;
                }
                if (known.kind == OperationalKey.Kind.DECLARATIVE) {
                    negotiated.put(known, offered);
                    return;
                }
                int result = known.kind == OperationalKey.Kind.MINIMUM
                        ? Math.min(offered, known.ours) : Math.max(offered, known.ours);
                negotiated.put(known, result);
                answers.put(key, Integer.toString(result));
            }
        }
    }

    private static Integer parseNumber(String value, int min, int max) {
        try {
            long number = value.startsWith("0x") || value.startsWith("0X")
                    ? Long.parseLong(value.substring(2), 16) : Long.parseLong(value);
            return number >= min && number <= max ? (int) number : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The parameters in force once login completes. */
    public SessionParameters parameters() {
        int maxBurst = negotiated.get(OperationalKey.MAX_BURST_LENGTH);
        return new SessionParameters(
                negotiated.get(OperationalKey.HEADER_DIGEST) == 1,
                negotiated.get(OperationalKey.DATA_DIGEST) == 1,
                negotiated.get(OperationalKey.MAX_CONNECTIONS),
                negotiated.get(OperationalKey.INITIAL_R2T) == 1,
                negotiated.get(OperationalKey.IMMEDIATE_DATA) == 1,
                negotiated.get(OperationalKey.MAX_RECV_DATA_SEGMENT_LENGTH),
                declaredOurLimits ? OperationalKey.MAX_RECV_DATA_SEGMENT_LENGTH.ours
                        : OperationalKey.MAX_RECV_DATA_SEGMENT_LENGTH.rfcDefault,
                maxBurst,
                // FirstBurstLength never exceeds MaxBurstLength (RFC 7143 §13.14).
                Math.min(negotiated.get(OperationalKey.FIRST_BURST_LENGTH), maxBurst),
                negotiated.get(OperationalKey.DEFAULT_TIME_2_WAIT),
                negotiated.get(OperationalKey.DEFAULT_TIME_2_RETAIN),
                negotiated.get(OperationalKey.MAX_OUTSTANDING_R2T),
                negotiated.get(OperationalKey.DATA_PDU_IN_ORDER) == 1,
                negotiated.get(OperationalKey.DATA_SEQUENCE_IN_ORDER) == 1,
                negotiated.get(OperationalKey.ERROR_RECOVERY_LEVEL));
    }

    public boolean discovery() {
        return discovery;
    }

    /** The target of a normal session (null for discovery). */
    public IscsiTarget target() {
        return target;
    }

    public String initiatorName() {
        return initiatorName;
    }

    public long isid() {
        return isid;
    }

    public int tsih() {
        return tsih;
    }

    /** The CHAP user the initiator proved, or null. */
    public String authenticatedUser() {
        return authenticatedUser;
    }
}

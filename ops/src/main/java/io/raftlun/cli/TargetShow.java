package io.raftlun.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /api/targets} as text, laid out as {@code tgtadm --op show --mode target} prints it
 * (so eyes and scripts used to tgt find things where they expect them), with raftlun's own lines:
 * the LUN's volume, replicas, leader and Raft indexes.
 */
final class TargetShow {

    private TargetShow() {
    }

    /** Prints every target, or only {@code tid} when not null. */
    static void print(Map<?, ?> show, Integer tid, PrintStream out) {
        for (Object t : (List<?>) show.get("targets")) {
            Map<?, ?> target = (Map<?, ?>) t;
            if (tid != null && ((Number) target.get("tid")).intValue() != tid) {
                continue;
            }
            out.println("Target " + target.get("tid") + ": " + target.get("iqn"));
            out.println("    System information:");
            out.println("        Driver: iscsi");
            out.println("        State: ready");
            out.println("    I_T nexus information: (sessions through " + show.get("node") + ")");
            int nexus = 1;
            for (Object s : (List<?>) target.get("sessions")) {
                Map<?, ?> session = (Map<?, ?>) s;
                out.println("        I_T nexus: " + nexus++);
                out.println("            Initiator: " + session.get("initiatorName") + " alias: none");
                out.println("            ISID: " + session.get("isid"));
                out.println("            Connection: 0");
                out.println("                IP Address: " + session.get("address"));
            }
            out.println("    LUN information:");
            for (Object l : (List<?>) target.get("luns")) {
                Map<?, ?> lun = (Map<?, ?>) l;
                long size = ((Number) lun.get("sizeBytes")).longValue();
                out.println("        LUN: " + lun.get("lun"));
                out.println("            Type: disk");
                out.println("            Size: " + size / 1_000_000 + " MB (" + Sizes.format(size) + "), Block size: "
                        + lun.get("blockSize"));
                out.println("            Online: " + yesNo(lun.get("online")));
                out.println("            Readonly: " + yesNo(lun.get("readOnly")));
                out.println("            Thin-provisioning: " + yesNo(lun.get("thin")));
                out.println("            Backing store type: " + (lun.containsKey("replicas") ? "raftlun replicated"
                        : "raftlun local"));
                out.println("            Backing store path: " + (lun.get("backingStore") == null ? "None"
                        : lun.get("backingStore")));
                out.println("            Volume: " + lun.get("volume"));
                if (lun.containsKey("replicas")) {
                    out.println("            Replicas: " + String.join(" ", strings(lun.get("replicas")))
                            + ", leader " + (lun.get("leader") == null ? "none known" : lun.get("leader")));
                    if (lun.get("commitIndex") != null) {
                        out.println("            Raft (here): commit " + lun.get("commitIndex") + ", applied "
                                + lun.get("appliedIndex"));
                    }
                }
            }
            out.println("    Account information:");
            for (String user : strings(target.get("incomingUsers"))) {
                out.println("        " + user);
            }
            if (target.get("outgoingUser") != null) {
                out.println("        " + target.get("outgoingUser") + " (outgoing)");
            }
            out.println("    ACL information:");
            for (String initiator : strings(target.get("initiators"))) {
                out.println("        " + initiator);
            }
        }
    }

    static void printAccounts(Map<?, ?> show, PrintStream out) {
        out.println("Account list:");
        for (String user : strings(show.get("accounts"))) {
            out.println("    " + user);
        }
    }

    private static String yesNo(Object value) {
        return Boolean.TRUE.equals(value) ? "Yes" : "No";
    }

    private static List<String> strings(Object list) {
        return list == null ? List.of() : ((List<?>) list).stream().map(String::valueOf).toList();
    }
}

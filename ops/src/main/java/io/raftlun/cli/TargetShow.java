package io.raftlun.cli;

import io.raftlun.cli.AdminClient.AdminException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

    /**
     * {@code GET /api/targets} from the node the client reaches, with the sessions of every other
     * node the cluster announced added to each target (each session names its node): a target's
     * I_T nexuses are spread over the nodes whose portals initiators use. Nodes that cannot be
     * reached are listed under {@code unreachable}.
     */
    static Map<String, Object> fromEveryNode(AdminClient client) throws AdminException, InterruptedException {
        Map<String, Object> show = new LinkedHashMap<>();
        ((Map<?, ?>) client.get("/api/targets")).forEach((key, value) -> show.put((String) key, value));
        Map<?, ?> cluster = (Map<?, ?>) client.get("/api/status").get("cluster");
        Map<Object, List<Object>> sessions = new LinkedHashMap<>();
        Map<Object, Map<?, ?>> leaderViews = new LinkedHashMap<>(); // volume -> the LUN as its leader's node shows it
        List<String> unreachable = new ArrayList<>();
        List<?> nodes = cluster == null ? List.of(Map.of("name", show.get("node"))) : (List<?>) cluster.get("nodes");
        for (Object n : nodes) {
            Map<?, ?> node = (Map<?, ?>) n;
            Map<?, ?> answer = show;
            if (!node.get("name").equals(show.get("node"))) {
                try {
                    answer = client.at(new AdminClient.Endpoint((String) node.get("name"), (String) node.get("admin")))
                            .get("/api/targets");
                } catch (AdminException e) {
                    unreachable.add(node.get("name") + ": " + e.getMessage());
                    continue;
                }
            }
            for (Object t : (List<?>) answer.get("targets")) {
                Map<?, ?> target = (Map<?, ?>) t;
                for (Object l : (List<?>) target.get("luns")) {
                    if (((Map<?, ?>) l).containsKey("lag")) {
                        leaderViews.put(((Map<?, ?>) l).get("volume"), (Map<?, ?>) l);
                    }
                }
                for (Object s : (List<?>) target.get("sessions")) {
                    Map<Object, Object> session = new LinkedHashMap<>((Map<?, ?>) s);
                    session.put("node", node.get("name"));
                    sessions.computeIfAbsent(target.get("tid"), tid -> new ArrayList<>()).add(session);
                }
            }
        }
        List<Object> targets = new ArrayList<>();
        for (Object t : (List<?>) show.get("targets")) {
            Map<Object, Object> target = new LinkedHashMap<>((Map<?, ?>) t);
            target.put("sessions", sessions.getOrDefault(target.get("tid"), List.of()));
            List<Object> luns = new ArrayList<>();
            for (Object l : (List<?>) target.get("luns")) {
                Map<Object, Object> lun = new LinkedHashMap<>((Map<?, ?>) l);
                Map<?, ?> leader = leaderViews.get(lun.get("volume"));
                if (leader != null) {
                    lun.put("lag", leader.get("lag"));
                    lun.put("health", leader.get("health"));
                }
                luns.add(lun);
            }
            target.put("luns", luns);
            targets.add(target);
        }
        show.put("targets", targets);
        show.put("unreachable", unreachable);
        return show;
    }

    /** Prints every target, or only {@code tid} when not null. */
    static void print(Map<?, ?> show, Integer tid, PrintStream out) {
        for (Object node : (List<?>) show.get("unreachable")) {
            out.println("(not reachable, its sessions are not listed: " + node + ")");
        }
        for (Object t : (List<?>) show.get("targets")) {
            Map<?, ?> target = (Map<?, ?>) t;
            if (tid != null && ((Number) target.get("tid")).intValue() != tid) {
                continue;
            }
            out.println("Target " + target.get("tid") + ": " + target.get("iqn"));
            out.println("    System information:");
            out.println("        Driver: iscsi");
            out.println("        State: ready");
            out.println("    I_T nexus information:");
            int nexus = 1;
            for (Object s : (List<?>) target.get("sessions")) {
                Map<?, ?> session = (Map<?, ?>) s;
                out.println("        I_T nexus: " + nexus++);
                out.println("            Initiator: " + session.get("initiatorName") + " alias: none");
                out.println("            Node: " + session.get("node"));
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
                    if (lun.get("health") != null) {
                        out.println("            Health: " + lun.get("health") + ", replica lag (entries) "
                                + lun.get("lag"));
                    }
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

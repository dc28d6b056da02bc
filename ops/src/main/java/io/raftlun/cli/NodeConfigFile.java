package io.raftlun.cli;

import io.raftlun.target.TargetConfig;

/**
 * The file {@code raftlun node --config FILE} reads (JSON). Every field but {@code dataDir} may be
 * left out. {@code targets}, when present, is applied at every start, as tgt-admin applies
 * targets.conf; leave it out to keep the targets managed through the CLI.
 *
 * @param name    node name (default: the host name)
 * @param dataDir data directory (volumes, block map, target config, admin token)
 * @param portal  iSCSI portal, HOST[:PORT] (default 0.0.0.0:3260)
 * @param admin   admin API and /metrics, HOST[:PORT] (default 127.0.0.1:9260)
 * @param targets targets, LUNs, ACLs and accounts to serve
 */
public record NodeConfigFile(String name, String dataDir, String portal, String admin, TargetConfig targets) {
}

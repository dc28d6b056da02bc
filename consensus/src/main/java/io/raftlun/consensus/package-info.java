/**
 * Raft: one Apache Ratis server per node, hosting the meta group (cluster configuration, shared by
 * every node) and one group per volume (its replicas). Filled in by the replication work.
 */
package io.raftlun.consensus;

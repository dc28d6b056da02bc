/**
 * Raft: one Apache Ratis server per node ({@link io.raftlun.consensus.RaftNode}) hosting the meta
 * group (cluster configuration every node applies, {@link io.raftlun.consensus.MetaStateMachine})
 * and one group per volume, whose state machine lives in the replication module.
 */
package io.raftlun.consensus;

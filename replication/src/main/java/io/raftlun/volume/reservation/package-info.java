/**
 * Persistent reservations as a deterministic state machine, so that they can live in a volume's
 * Raft log and hold cluster-wide across failover.
 */
package io.raftlun.volume.reservation;

/**
 * Replicated volumes: the log entries a volume's Raft group carries ({@link io.raftlun.replication.VolumeEntry}),
 * the state machine that applies them to a replica's block store
 * ({@link io.raftlun.replication.VolumeStateMachine}), and the asynchronous volume the SCSI layer
 * uses on any node ({@link io.raftlun.replication.ReplicatedVolume}).
 */
package io.raftlun.replication;

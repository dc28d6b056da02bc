/**
 * The asynchronous block volume API the SCSI layer serves LUNs from. Implementations: a local
 * block store, and (later) a volume replicated through its own Raft group.
 */
package io.raftlun.volume;

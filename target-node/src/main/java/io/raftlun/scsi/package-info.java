/**
 * The SCSI block device (SPC-4 / SBC-3), in tgt's shape: commands in tables indexed by opcode,
 * sense data as values returned in the result, never thrown across layers.
 */
package io.raftlun.scsi;

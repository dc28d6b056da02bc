package io.raftlun.scsi;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * One SCSI command as the transport hands it to the SCSI layer.
 *
 * <p>The data-out buffer (possibly empty) belongs to the command: the SCSI layer releases it, or
 * hands it on to the volume, which does.
 *
 * @param nexus           who sent it
 * @param lun             the LUN as addressed (flat/peripheral addressing decoded to a number)
 * @param cdb             the CDB, 16 bytes or longer (shorter CDBs are zero-padded by the transport)
 * @param taskTag         the transport's tag (iSCSI ITT), for logs and task management
 * @param taskAttribute   SAM task attribute: 0 untagged, 1 simple, 2 ordered, 3 head of queue, 4 ACA
 * @param expectedLength  the initiator's expected data transfer length in bytes
 * @param dataIn          the initiator expects data from the target
 * @param dataOutExpected the initiator sends data to the target
 * @param dataOut         the data the initiator sent (up to {@code expectedLength} bytes)
 */
public record ScsiCommand(ItNexus nexus, long lun, byte[] cdb, long taskTag, int taskAttribute,
                          int expectedLength, boolean dataIn, boolean dataOutExpected, ByteBuf dataOut) {

    public ScsiCommand {
        if (dataOut == null) {
            dataOut = Unpooled.EMPTY_BUFFER;
        }
    }

    public int opcode() {
        return cdb[0] & 0xff;
    }
}

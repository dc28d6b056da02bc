package io.raftlun.iscsi.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.raftlun.scsi.ItNexus;
import io.raftlun.scsi.ScsiCommand;
import io.raftlun.scsi.ScsiResult;
import io.raftlun.scsi.ScsiTarget;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A SCSI target double for transport tests: reads return a byte pattern of the expected length,
 * writes are recorded; with {@link #hold} set, commands wait until the test completes them.
 */
final class FakeScsiTarget implements ScsiTarget {

    record Executed(ScsiCommand command, byte[] data) {
    }

    final List<Executed> executed = new ArrayList<>();
    final List<CompletableFuture<ScsiResult>> held = new ArrayList<>();
    final List<String> events = new ArrayList<>();
    boolean hold;

    @Override
    public CompletableFuture<ScsiResult> execute(ScsiCommand command) {
        byte[] data = ByteBufUtil.getBytes(command.dataOut());
        command.dataOut().release();
        executed.add(new Executed(command, data));
        CompletableFuture<ScsiResult> future = new CompletableFuture<>();
        if (hold) {
            held.add(future);
            return future;
        }
        future.complete(resultFor(command));
        return future;
    }

    static ScsiResult resultFor(ScsiCommand command) {
        if (command.dataIn()) {
            ByteBuf data = Unpooled.buffer(command.expectedLength());
            for (int i = 0; i < command.expectedLength(); i++) {
                data.writeByte(i * 7);
            }
            return new ScsiResult(ScsiResult.GOOD, null, data, command.expectedLength());
        }
        return new ScsiResult(ScsiResult.GOOD, null, null, command.expectedLength());
    }

    @Override
    public boolean hasLun(long lun) {
        return lun == 0 || lun == 1;
    }

    @Override
    public CompletableFuture<Void> reset(ItNexus nexus, Reset kind, long lun) {
        events.add(kind + ":" + lun);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void nexusOpened(ItNexus nexus) {
        events.add("opened:" + nexus.initiatorPortName());
    }

    @Override
    public CompletableFuture<Void> nexusClosed(ItNexus nexus) {
        events.add("closed:" + nexus.initiatorPortName());
        return CompletableFuture.completedFuture(null);
    }
}

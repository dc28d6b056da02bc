package io.raftlun.target;

import io.raftlun.blockstore.NodeStorage;
import io.raftlun.volume.BlockVolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A single node's targets: {@code targets.json} in the data directory, volumes in its storage. */
public final class LocalTargetStore implements TargetStore {

    private static final Logger log = LoggerFactory.getLogger(LocalTargetStore.class);

    private final NodeStorage storage;
    private final Path file;
    private Versioned current;

    public LocalTargetStore(NodeStorage storage, Path file) {
        this.storage = storage;
        this.file = file;
        this.current = Files.exists(file) ? new Versioned(ConfigFiles.read(file, TargetConfig.class), 1) : null;
    }

    @Override
    public synchronized Versioned current() {
        return current;
    }

    @Override
    public synchronized Versioned update(UnaryOperator<TargetConfig> change, UnaryOperator<TargetConfig> check) {
        TargetConfig next = check.apply(change.apply(current == null ? TargetConfig.empty() : current.config()));
        for (TargetConfig.Target target : next.targets()) {
            for (TargetConfig.Lun lun : target.luns()) {
                ensureVolume(lun);
            }
        }
        ConfigFiles.write(file, next);
        current = new Versioned(next, current == null ? 1 : current.version() + 1);
        return current;
    }

    private void ensureVolume(TargetConfig.Lun lun) {
        var record = storage.volume(lun.volume());
        if (record == null) {
            storage.create(lun.volume(), lun.sizeBytes() / lun.blockSize(), lun.blockSize(),
                    lun.backingStore() == null ? null : Path.of(lun.backingStore()));
            log.info("created volume {} ({} bytes{})", lun.volume(), lun.sizeBytes(),
                    lun.backingStore() == null ? ", thin" : " on " + lun.backingStore());
        } else if (record.blockSize() == lun.blockSize() && record.sizeBytes() < lun.sizeBytes()) {
            storage.store(lun.volume()).grow(lun.sizeBytes() / lun.blockSize());
            log.info("grew volume {} to {} bytes", lun.volume(), lun.sizeBytes());
        } else if (record.blockSize() != lun.blockSize() || record.sizeBytes() != lun.sizeBytes()) {
            throw new ConfigException("volume " + lun.volume() + " exists with " + record.sizeBytes() + " bytes in "
                    + record.blockSize() + "-byte blocks; LUN " + lun.lun() + " asks for " + lun.sizeBytes()
                    + " bytes in " + lun.blockSize() + "-byte blocks");
        }
    }

    @Override
    public BlockVolume open(TargetConfig.Lun lun) {
        return storage.openVolume(lun.volume());
    }
}

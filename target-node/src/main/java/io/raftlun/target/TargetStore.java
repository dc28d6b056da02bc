package io.raftlun.target;

import io.raftlun.volume.BlockVolume;
import java.util.function.UnaryOperator;

/**
 * Where a node's target config is kept and its LUNs' volumes come from: the node's own data
 * directory ({@link LocalTargetStore}), or the cluster's meta group with replicated volumes.
 */
public interface TargetStore {

    /** The config stored now, with its version (versions only grow), or null if there is none yet. */
    Versioned current();

    /**
     * Changes the stored config: {@code change} is applied to the current config and
     * {@code check} must accept the result (it throws {@link ConfigException} otherwise); volumes of
     * new LUNs are created. Atomic with respect to other changes, also on other nodes.
     */
    Versioned update(UnaryOperator<TargetConfig> change, UnaryOperator<TargetConfig> check);

    /** The volume behind a LUN of a stored config. */
    BlockVolume open(TargetConfig.Lun lun);

    /** A config and its version. */
    record Versioned(TargetConfig config, long version) {
    }
}

package io.raftlun.bench;

import java.nio.file.Path;
import java.util.List;

/** A load driven through a real initiator against a target; yields one or more measurements. */
interface Workload {

    String name();

    List<Measurement> run(TargetUnderTest target, Path workDir) throws Exception;
}

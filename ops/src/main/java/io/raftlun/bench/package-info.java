/**
 * The benchmark harness: raftlun side by side with tgt on the same machine, driven by the same real
 * initiators, reported as ratios. Run as {@code ./raftlun bench}; see the README.
 */
package io.raftlun.bench;

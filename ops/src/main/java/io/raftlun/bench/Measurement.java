package io.raftlun.bench;

/**
 * One number from one run of one workload against one target.
 *
 * @param metric         e.g. "4k QD1 read IOPS"
 * @param unit           e.g. "IOPS", "MiB/s", "µs"
 * @param higherIsBetter false for latencies and memory
 */
record Measurement(String target, String metric, String unit, double value, boolean higherIsBetter) {
}

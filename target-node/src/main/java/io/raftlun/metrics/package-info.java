/** Node metrics for Prometheus: the registry every component records into, and JVM/process meters. */
package io.raftlun.metrics;

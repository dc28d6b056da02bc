/**
 * The admin HTTP API each node serves for the CLI (token-authenticated), and {@code /metrics} for
 * Prometheus.
 */
package io.raftlun.admin;

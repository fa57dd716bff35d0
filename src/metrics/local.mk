# src/metrics: counters and latency histograms shared by the handler processes (/metrics).

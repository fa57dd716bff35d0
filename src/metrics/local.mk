# src/metrics: counters and latency histograms shared by the handler processes (/metrics).
libleadroute_a_SOURCES += src/metrics/metrics.c src/metrics/metrics.h

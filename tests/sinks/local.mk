# tests/sinks: the event log's consumers end to end (see the scripts'
# headers): sinks-test.sh runs the real handler as CGI and the operator
# command against fakesinks.py, a fake Amplitude, Mixpanel and Segment
# (Python standard library only) that deduplicates like the real services
# and injects faults.  Nothing here reaches a real service.
TESTS += tests/sinks/sinks-test.sh
EXTRA_DIST += tests/sinks/sinks-test.sh tests/sinks/fakesinks.py

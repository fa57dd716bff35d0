# tests/sinks: shell tests (see the scripts' headers).

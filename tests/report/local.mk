# tests/report: shell tests (see the scripts' headers).

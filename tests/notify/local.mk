# tests/notify: shell tests (see the scripts' headers).

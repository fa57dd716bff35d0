# src/replay: the what-if: stored leads through new rules (leadroute replay).

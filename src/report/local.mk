# src/report: the routing review (leadroute report).

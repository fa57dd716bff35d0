# src/notify: owner notices (Slack, email) and alert delivery, as event sinks.

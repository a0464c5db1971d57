"""Alerting: rules, the evaluation state machine, notifications, intake of foreign alerts."""

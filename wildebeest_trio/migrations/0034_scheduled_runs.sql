-- Periodic upkeep once per interval across every process and machine sharing the
-- database: a process runs a task only after moving its `due_at` forward from a time
-- already past, in one statement, so two schedulers never both run one interval's turn.
CREATE TABLE scheduled_runs (
    name TEXT PRIMARY KEY,
    due_at BIGINT NOT NULL
);

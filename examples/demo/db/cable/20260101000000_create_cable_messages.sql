CREATE TABLE cable_messages (
  id INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX index_notes_on_created_at ON notes (created_at);

-- The change feed: every stored change gets a server sequence number,
-- increasing in commit order (a row keeps the number of its latest change).
-- Existing rows are numbered in the order the server last changed them.
ALTER TABLE sessions ADD COLUMN seq BIGINT;
UPDATE sessions SET seq = numbered.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY received_at, id) AS n FROM sessions) AS numbered
WHERE numbered.id = sessions.id;
CREATE UNIQUE INDEX sessions_seq ON sessions (seq);

-- GitHub owner and repository names are case-insensitive: store them in
-- canonical lower case (ASCII, as GitHub's names are).
UPDATE sessions SET repo_owner = lower(repo_owner), repo_name = lower(repo_name);

-- Count and sum per key per 10 s window, from CSV files into a CSV file.
-- IN_DIR holds the input files (k,v,ts lines, ts as 'YYYY-MM-DD HH:MM:SS.fff'),
-- OUT_DIR receives the results.
CREATE TABLE events (
  k STRING,
  v BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '${env:IN_DIR}',
        'format' = 'csv');

CREATE TABLE counts (
  k STRING,
  window_start TIMESTAMP(3),
  n BIGINT,
  total BIGINT
) WITH ('connector' = 'filesystem', 'path' = '${env:OUT_DIR}',
        'format' = 'csv');

INSERT INTO counts
SELECT k, window_start, COUNT(*) AS n, SUM(v) AS total
FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY k, window_start, window_end;

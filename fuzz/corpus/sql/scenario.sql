-- compute tier: count and sum per key per minute
CREATE TABLE app_log (
  line STRING,
  host AS SPLIT_INDEX(line, ',', 0),
  amount AS CAST(SPLIT_INDEX(line, ',', 1) AS BIGINT),
  ts AS TO_TIMESTAMP(SPLIT_INDEX(line, ',', 2)),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH (
  'connector' = 'topic',
  'topic' = 'app-log',
  'format' = 'csv'
);

CREATE TABLE per_host (
  host VARCHAR(64) NOT NULL,
  window_start TIMESTAMP(3) NOT NULL,
  lines BIGINT,
  total BIGINT,
  PRIMARY KEY (host, window_start) NOT ENFORCED
) WITH (
  'connector' = 'mysql',
  'url' = 'mysql://${env:DB_HOST}:3306/dash',
  'table-name' = 'per_host',
  'password' = '${env:DB_PASSWORD}'
);

SET 'parallelism.default' = '2';

INSERT INTO per_host
SELECT host, window_start, COUNT(*) AS lines, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE app_log, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
WHERE host IS NOT NULL AND host <> ''
GROUP BY host, window_start, window_end;

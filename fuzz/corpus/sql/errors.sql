CREATE TABLE src (
  k STRING,
  v BIGINT WITH ('connector' = 'values');
SELECT k,, v FROM src;
CREATE TABLE t (c DECIMAL(39, 2), d TIMESTAMP(6), e FLOAT)
SELECT 'unterminated

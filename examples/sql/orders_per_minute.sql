-- The scenario's compute tier as a job of a topology file
-- (examples/topologies/orders-compute.toml): order lines
-- "shop_id,amount,ts" from the topic `orders`, orders and revenue per shop
-- per minute, upserted into MariaDB (or MySQL) by (shop_id, window_start).
-- The topic table names no 'address': the topology says which node holds
-- the topic.
CREATE TABLE orders (
  shop_id STRING,
  amount BIGINT,
  ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'topic', 'topic' = 'orders', 'format' = 'csv',
        'properties.group.id' = 'per_minute');

CREATE TABLE per_minute (
  shop_id STRING, window_start TIMESTAMP(3), orders BIGINT, revenue BIGINT,
  PRIMARY KEY (shop_id, window_start) NOT ENFORCED
) WITH ('connector' = 'mariadb', 'url' = '${env:DB_URL}',
        'table-name' = 'per_minute', 'username' = 'sluice',
        'password' = '${env:DB_PASSWORD}', 'sink.create-table' = 'true');

INSERT INTO per_minute
SELECT shop_id, window_start, COUNT(*), SUM(amount)
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY shop_id, window_start, window_end;

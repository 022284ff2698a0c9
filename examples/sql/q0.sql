-- Nexmark q0: pass-through (measures the cost of reading and writing).
-- The Nexmark bid stream, generated in-process: NEXMARK_EVENTS events in
-- all (persons and auctions included; 0 = unbounded, until a stop signal).
CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  url VARCHAR,
  `dateTime` TIMESTAMP(3),
  extra VARCHAR,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid',
        'events.num' = '${env:NEXMARK_EVENTS}');

CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q0
SELECT auction, bidder, price, `dateTime`, extra FROM bid;

-- Nexmark q2: selection (bids on every 123rd auction).
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

CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT)
  WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q2
SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;

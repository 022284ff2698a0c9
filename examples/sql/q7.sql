-- Nexmark q7: the highest bid of each 10 s window, in the window-join form
-- (Flink's text uses an interval join, which sluice does not have yet).
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

CREATE TABLE nexmark_q7 (auction BIGINT, price BIGINT, bidder BIGINT,
  `dateTime` TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q7
SELECT B.auction, B.price, B.bidder, B.window_end AS `dateTime`, B.extra
FROM (SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`),
                                 INTERVAL '10' SECOND))) B
JOIN (
  SELECT MAX(price) AS maxprice, window_start, window_end
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.window_start = B1.window_start AND B.window_end = B1.window_end
   AND B.price = B1.maxprice;

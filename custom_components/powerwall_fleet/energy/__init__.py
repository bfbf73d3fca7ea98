"""Energy history bookkeeping: ledger, buckets, flows, pricing, money, dynamic prices, outages, statistics."""

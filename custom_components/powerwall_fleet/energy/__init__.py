"""Energy history bookkeeping: ledger, buckets, flows, pricing, dynamic prices, outages, statistics."""

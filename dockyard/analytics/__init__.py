"""The request log and its analytics: what the gateway and the API saw, queryable.

    records    the three datasets: their streams, record tuples and table columns
    shipper    a process's bounded queue of records, shipped in batches to a Redis stream
    store      the DuckDB database they land in, ordered by time, with retention
    collector  reads the streams, names each record's workspace, appends to the store
               and moves keys' lastUsedAt
    paths      a request path's template (`/orders/{id}`), to group requests by endpoint
    query      the SQL subset analytics.get* accept, checked and rewritten for the store
    window     the time window a query's `time` conditions ask for, bounded
    series     fixed time buckets of requests, latency, errors and verifications, for charts

Records leave the hot path as tuples in memory (a full queue drops and counts, it never
waits); a background task ships them once a second, one XADD per batch. The collector in
the API process is the store's one writer; the API's analytics operations read it with a
bounded time window and a row limit. See the README ("Request log and analytics") for why
DuckDB and how this grows past one machine.
"""

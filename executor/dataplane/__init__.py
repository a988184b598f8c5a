"""The data plane: HTTP/1.1 server, upstream pool, fault proxy, traces, counters and the demo shop."""

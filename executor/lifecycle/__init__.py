"""Fault lifecycle: the fault and policy stores, the fault runner, the load driver and its recorder."""

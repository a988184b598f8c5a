"""The fault model: fault kinds, request-matching rules, RE2 patterns, wire syntax and header names."""

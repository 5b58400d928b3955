"""A seeded edit-sequence fuzzer for scaffold's promise: no run loses a line the user wrote, writes
outside the project, or leaves a broken project that `check` calls up to date.

`steps.generate(seed, n)` draws a sequence; `runner.replay(root, steps)` runs it through the CLI and
returns the first invariant it breaks; `shrink.shrink(...)` cuts a failing sequence down and
`shrink.regression_test(...)` prints it as a test. Used by tests/test_fuzz.py and bench/fuzz.py.
"""

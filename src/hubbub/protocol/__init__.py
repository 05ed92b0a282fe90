"""The wire protocol, free of I/O: frames in, typed messages out, and back."""

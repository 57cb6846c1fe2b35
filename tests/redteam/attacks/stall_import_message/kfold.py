"""An exception at import whose message is a megabyte of /a/a/a...: copied into each of the
exercise's checks, and each scrubbed."""
raise ValueError("/a" * (1 << 19) + "/dlgrade-" + "a-" * 1000)

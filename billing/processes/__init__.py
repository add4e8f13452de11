"""Process assembly, beside the app: what each kind of process builds and runs.

`runtime.build_runtime` is what every process holds (the lower floors' `Runtime`, with
the capabilities' parts handed in); `serve` is `billing serve` under Granian; `jobs` is
what RQ calls in a worker. The worker loop itself is `billing.worker`, its clock
`billing.schedule`. Lower floors never import this package (an import-linter contract).
"""

"""The pipeline's steps: agent, verify, commit, judge, build, install. Each uses adapters through small Protocols."""

"""The domain: events, state, config, the pipeline. No Qt, no network, no subprocess."""

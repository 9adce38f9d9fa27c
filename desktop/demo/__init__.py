"""`honk demo`: the whole flow on the stand-ins in desktop.sim."""
